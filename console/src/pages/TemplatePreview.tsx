import { Button, Group, Loader, Stack, Tabs, Text, Code } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { api, ApiProblem } from '../api.js';
import { HtmlFrame } from '../components/HtmlFrame.js';
import { Empty, ErrorState } from '../components/states.js';
import type { ScalarMap } from '../templateText.js';

export interface Rendered {
  subject: string;
  text: string | null;
  html: string | null;
}

/** What is previewed: a stored version as it is, or content that is not stored (yet). */
export type PreviewSource =
  | { kind: 'version'; templateId: string; version: number }
  | { kind: 'draft'; content: { subject: string; html?: string; text?: string; defaults: ScalarMap } };

const DEBOUNCE_MS = 300;

/** Unsaved content is rendered by the server as it is (`POST /templates/preview`: its rendering and checks, nothing stored). */
async function renderDraft(content: Extract<PreviewSource, { kind: 'draft' }>['content'], placeholders: ScalarMap): Promise<Rendered> {
  return (await api<{ data: Rendered }>('POST', '/templates/preview', { ...content, placeholders })).data;
}

async function render(source: PreviewSource, placeholders: ScalarMap): Promise<Rendered> {
  if (source.kind === 'draft') return renderDraft(source.content, placeholders);
  return (await api<{ data: Rendered }>('POST', `/templates/${encodeURIComponent(source.templateId)}/preview`, { placeholders, version: source.version })).data;
}

export interface PreviewState {
  rendered: Rendered | null;
  problem: unknown;
  rendering: boolean;
}

/**
 * The preview, rendered again 300 ms after the operator stops typing (null source: nothing to
 * render yet). An answer that comes back after a newer request was made is dropped.
 */
export function useTemplatePreview(source: PreviewSource | null, placeholders: ScalarMap | null): PreviewState {
  const [state, setState] = useState<PreviewState>({ rendered: null, problem: null, rendering: false });
  const latest = useRef(0);
  const key = JSON.stringify([source, placeholders]);
  useEffect(() => {
    if (!source || !placeholders) {
      // Nothing to render (an empty draft), or values that are not valid JSON: the last preview stays.
      latest.current++;
      setState((current) => ({ rendered: source ? current.rendered : null, problem: null, rendering: false }));
      return;
    }
    const request = ++latest.current;
    setState((current) => ({ ...current, rendering: true }));
    const timer = window.setTimeout(() => {
      render(source, placeholders).then(
        (rendered) => request === latest.current && setState({ rendered, problem: null, rendering: false }),
        (problem: unknown) => request === latest.current && setState((current) => ({ rendered: current.rendered, problem, rendering: false })),
      );
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
    // Keyed on the content, not the objects: a new object saying the same thing renders nothing again.
  }, [key]);
  return state;
}

/** The names a 422 PLACEHOLDER_MISSING answer lists (its details are `placeholders.<name>`). */
export function missingOf(problem: unknown): string[] {
  if (!(problem instanceof ApiProblem) || problem.code !== 'PLACEHOLDER_MISSING') return [];
  return problem.details.map((detail) => detail.field.replace(/^placeholders\./, ''));
}

/** The rendered subject, HTML (in the sandboxed frame only) and text, or why there is none. */
export function TemplatePreview({ state, label, onAddSamples, fieldProblem }: { state: PreviewState; label: string; onAddSamples: (names: string[]) => void; fieldProblem: boolean }) {
  const { rendered, problem, rendering } = state;
  const missing = missingOf(problem);
  return (
    <Stack gap="xs" aria-label="Preview" role="region">
      <Group justify="space-between">
        <Text fw={600}>{label}</Text>
        <Group gap={6} role="status" aria-live="polite">
          {rendering && (
            <>
              <Loader size="xs" aria-hidden />
              <Text size="sm">Rendering…</Text>
            </>
          )}
        </Group>
      </Group>
      {missing.length > 0 ? (
        <Stack gap="xs" data-testid="missing-placeholders">
          <Text size="sm">No value and no default for: {missing.join(', ')}.</Text>
          <Group>
            <Button size="xs" variant="default" onClick={() => onAddSamples(missing)}>
              Add sample values for them
            </Button>
          </Group>
        </Stack>
      ) : problem && fieldProblem ? (
        <Text size="sm">The draft has problems, shown at its fields; the preview is of the last version that rendered.</Text>
      ) : problem ? (
        <ErrorState error={problem} title="The preview could not be rendered" />
      ) : null}
      {!rendered ? (
        !problem && !rendering && <Empty>Write a subject and an HTML or text part to see them rendered.</Empty>
      ) : (
        <>
          <Text size="sm" data-testid="preview-subject" style={{ overflowWrap: 'anywhere' }}>
            <Text span fw={600}>Subject:</Text> {rendered.subject}
          </Text>
          <Tabs defaultValue={rendered.html !== null ? 'html' : 'text'} keepMounted={false}>
            <Tabs.List>
              <Tabs.Tab value="html" disabled={rendered.html === null}>
                HTML
              </Tabs.Tab>
              <Tabs.Tab value="text" disabled={rendered.text === null}>
                Plain text
              </Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="html" pt="sm">
              {rendered.html !== null && <HtmlFrame html={rendered.html} title="The template's HTML, rendered (scripts, forms and remote content are blocked)" testId="template-preview" height={420} />}
            </Tabs.Panel>
            <Tabs.Panel value="text" pt="sm">
              <Code block style={{ whiteSpace: 'pre-wrap' }} data-testid="template-preview-text">
                {rendered.text ?? ''}
              </Code>
            </Tabs.Panel>
          </Tabs>
        </>
      )}
    </Stack>
  );
}
