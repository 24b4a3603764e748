import { Button, Checkbox, Group, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { fieldErrorsOf } from '../fieldErrors.js';
import { groupOf, loadEventTypes } from '../webhookEvents.js';
import { ErrorState } from './states.js';

export interface WebhookFields {
  url: string;
  description: string;
  eventTypes: string[];
  ordered: boolean;
}

export const NEW_WEBHOOK: WebhookFields = { url: '', description: '', eventTypes: [], ordered: true };

/** The event types the server offers, grouped; none chosen means every type. */
function EventTypePicker({ value, onChange, error }: { value: string[]; onChange: (types: string[]) => void; error?: string | undefined }) {
  const [types, setTypes] = useState<string[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  useEffect(() => {
    loadEventTypes().then(setTypes, setProblem);
  }, []);
  if (problem) return <ErrorState error={problem} title="The event types could not be loaded: the webhook gets every type" />;
  if (!types) return <Text size="sm">Loading the event types…</Text>;
  const groups = [...new Set(types.map(groupOf))];
  return (
    <Checkbox.Group label="Event types" description="None chosen: every event type, including types added later" value={value} onChange={onChange} error={error}>
      <Stack gap="xs" mt="xs">
        {groups.map((group) => (
          <div key={group} role="group" aria-label={group}>
            <Text size="sm" fw={600} mb={4} aria-hidden>
              {group}
            </Text>
            <SimpleGrid cols={{ base: 1, xs: 2, md: 3, xl: 4 }} spacing="xs" verticalSpacing={6}>
              {types.filter((type) => groupOf(type) === group).map((type) => (
                <Checkbox key={type} value={type} label={type} size="sm" />
              ))}
            </SimpleGrid>
          </div>
        ))}
      </Stack>
    </Checkbox.Group>
  );
}

/** A webhook's URL, description, event types and ordering: to create one, or to change one (the caller keys it to start over). */
export function WebhookForm({ initial, submitLabel, problem, onSubmit }: { initial: WebhookFields; submitLabel: string; problem: unknown; onSubmit: (fields: WebhookFields) => Promise<void> }) {
  const [fields, setFields] = useState<WebhookFields>(initial);
  const [saving, setSaving] = useState(false);
  const errors = fieldErrorsOf(problem);
  const set = <K extends keyof WebhookFields>(key: K, value: WebhookFields[K]) => setFields((current) => ({ ...current, [key]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    try {
      await onSubmit({ ...fields, url: fields.url.trim() });
    } finally {
      setSaving(false);
    }
  };
  return (
    <form onSubmit={(event) => void submit(event)} aria-label={submitLabel}>
      <Stack gap="sm">
        <TextInput label="URL" description="Where the events are POSTed, signed per Standard Webhooks (https://…)" value={fields.url} onChange={(event) => set('url', event.currentTarget.value)} error={errors.url} required maxLength={2048} />
        <TextInput label="Description" value={fields.description} onChange={(event) => set('description', event.currentTarget.value)} error={errors.description} maxLength={500} />
        <EventTypePicker value={fields.eventTypes} onChange={(types) => set('eventTypes', types)} error={errors.eventTypes} />
        <Checkbox
          label="Keep events in order"
          description="One request at a time, in the order the events happened; without it, up to 8 requests in flight and no order"
          checked={fields.ordered}
          onChange={(event) => set('ordered', event.currentTarget.checked)}
        />
        <Group>
          <Button type="submit" loading={saving}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
