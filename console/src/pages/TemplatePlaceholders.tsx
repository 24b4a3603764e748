import { Button, Group, Paper, Stack, Text, Textarea } from '@mantine/core';
import { snippetOf, type Placeholder } from '../templateText.js';

/**
 * The placeholders a template uses, each a button that inserts it at the caret of the field
 * last edited (outlined in red while it has neither a default nor a sample value), and the
 * sample values the preview renders with.
 */
export function TemplatePlaceholders({ placeholders, hasValue, target, onInsert, sample, onSample, sampleError }: {
  placeholders: Placeholder[];
  hasValue: (name: string) => boolean;
  /** The field a click inserts into, in words. */
  target: string;
  onInsert: (placeholder: Placeholder) => void;
  sample: string;
  onSample: (sample: string) => void;
  sampleError: string | undefined;
}) {
  return (
    <Paper withBorder p="md">
      <Stack gap="xs">
        <Text fw={600}>Placeholders</Text>
        {placeholders.length === 0 ? (
          <Text size="sm" c="dimmed">None yet: type {'{{name}}'} in the subject, HTML or text.</Text>
        ) : (
          <>
            <Group gap="xs" data-testid="placeholders">
              {placeholders.map((placeholder) => {
                const valued = hasValue(placeholder.name);
                return (
                  <Button
                    key={placeholder.name}
                    size="compact-sm"
                    variant={valued ? 'default' : 'outline'}
                    color={valued ? undefined : '#a61b1b'}
                    onClick={() => onInsert(placeholder)}
                    aria-label={`Insert ${snippetOf(placeholder)} into the ${target}${valued ? '' : ' (no value yet)'}`}
                    data-placeholder={placeholder.name}
                    data-valued={valued}
                  >
                    {snippetOf(placeholder)}
                  </Button>
                );
              })}
            </Group>
            <Text size="xs" c="dimmed">
              A click inserts it at the caret in the {target}; red: no default and no sample value yet.
            </Text>
          </>
        )}
        <Textarea
          label="Sample values"
          description="JSON of name: value, over the defaults, for the preview only"
          value={sample}
          onChange={(event) => onSample(event.currentTarget.value)}
          error={sampleError}
          autosize
          minRows={2}
          maxRows={8}
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
        />
      </Stack>
    </Paper>
  );
}
