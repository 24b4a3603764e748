import { Alert, Button, Group, Progress, Stack, Table, Text } from '@mantine/core';
import { importFraction } from '../reportData.js';

/** A list's CSV import as GET /lists/{id}/imports/{importId} answers it. */
export interface ImportJob {
  id: string;
  state: 'running' | 'finished' | 'failed' | 'canceled';
  bytes: number;
  rowsRead: number;
  added: number;
  updated: number;
  unchanged: number;
  refused: number;
  refusals: { line: number; reason: string }[];
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export type Phase = { step: 'counting' } | { step: 'uploading'; fraction: number } | { step: 'importing'; job: ImportJob } | { step: 'ended'; job: ImportJob };

const percentOf = (fraction: number) => Math.round(fraction * 100);

/** An import's bar and words at each step (reading the file, its upload, the job), then its counts and refused lines. */
export function ImportProgress({ phase, expected, onStop }: { phase: Phase; expected: number | null; onStop: (job: ImportJob) => void }) {
  const job = phase.step === 'importing' || phase.step === 'ended' ? phase.job : null;
  const fraction = phase.step === 'uploading' ? phase.fraction : job ? importFraction(job, expected) : 0;
  let label: string;
  if (phase.step === 'counting') label = 'Reading the file…';
  else if (phase.step === 'uploading') label = `Uploading… ${percentOf(phase.fraction)}%`;
  else if (phase.step === 'importing') label = `Importing… ${phase.job.rowsRead}${expected !== null ? ` of about ${expected}` : ''} rows read`;
  else label = phase.job.state === 'finished' ? 'Done' : `Ended: ${phase.job.state}`;
  return (
    <Stack gap={4}>
      <Progress
        value={fraction === null ? 100 : percentOf(fraction)}
        animated={fraction === null || phase.step === 'importing'}
        striped={fraction === null}
        aria-label="Import progress"
        data-progress={fraction === null ? undefined : percentOf(fraction)}
        data-step={phase.step}
      />
      <Group justify="space-between">
        <Text size="sm" role="status">
          {label}
        </Text>
        {phase.step === 'importing' && (
          <Button size="xs" variant="default" onClick={() => onStop(phase.job)}>
            Stop the import
          </Button>
        )}
      </Group>
      {job && (
        <Alert
          color={job.state === 'failed' ? '#a61b1b' : job.state === 'finished' ? '#1b5e20' : '#0b4f8a'}
          variant="outline"
          data-testid="import-result"
          data-state={job.state}
          title={`${job.rowsRead} rows read: ${job.added} added, ${job.updated} updated, ${job.unchanged} unchanged, ${job.refused} refused`}
        >
          {job.error && <Text size="sm">{job.error}</Text>}
          {job.refusals.length > 0 && (
            <Table aria-label="Refused rows" mt="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Line</Table.Th>
                  <Table.Th scope="col">Why it was refused</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {job.refusals.map((refusal) => (
                  <Table.Tr key={refusal.line} data-refused-line={refusal.line}>
                    <Table.Td>{refusal.line}</Table.Td>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>{refusal.reason}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
          {job.refused > job.refusals.length && (
            <Text size="xs" mt="xs">
              Only the first {job.refusals.length} refused lines are listed.
            </Text>
          )}
        </Alert>
      )}
    </Stack>
  );
}
