import { Alert, Button, Code, CopyButton, Group } from '@mantine/core';

/** A secret the API shows only in this answer (an API key, a webhook's signing secret), with a copy button. */
export function ShownOnce({ title, value, testId, onClose }: { title: string; value: string; testId: string; onClose: () => void }) {
  return (
    <Alert color="#1b5e20" variant="filled" title={title} role="status" withCloseButton onClose={onClose} closeButtonLabel="Dismiss">
      <Group gap="sm">
        <Code data-testid={testId} c="black" bg="white" style={{ overflowWrap: 'anywhere' }}>
          {value}
        </Code>
        <CopyButton value={value}>{({ copied, copy }) => <Button size="xs" onClick={copy}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
      </Group>
    </Alert>
  );
}
