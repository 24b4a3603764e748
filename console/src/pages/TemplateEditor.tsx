import { Anchor, Button, Group, Paper, SimpleGrid, Stack, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { fieldErrorsOf, onlyFieldErrors } from '../fieldErrors.js';
import { ErrorState, Loading } from '../components/states.js';
import { contentOf, insertAt, parseValues, placeholdersOf, sameContent, snippetOf, withSamples, type Placeholder, type TemplateDraft } from '../templateText.js';
import { TemplatePlaceholders } from './TemplatePlaceholders.js';
import { TemplatePreview, useTemplatePreview, type PreviewSource } from './TemplatePreview.js';
import { TemplateVersions } from './TemplateVersions.js';

interface Template {
  id: string;
  name: string;
  version: number;
  latestVersion: number;
  subject: string;
  text: string | null;
  html: string | null;
  defaults: Record<string, string | number | boolean>;
}

type Part = 'subject' | 'html' | 'text';
const FIELDS = ['name', 'subject', 'html', 'text', 'defaults'] as const;
const PART_NAMES: Record<Part, string> = { subject: 'subject', html: 'HTML', text: 'plain text' };
const EMPTY: TemplateDraft = { name: '', subject: '', html: '', text: '', defaults: '' };

function draftOf(template: Template): TemplateDraft {
  const defaults = Object.keys(template.defaults).length > 0 ? JSON.stringify(template.defaults, null, 2) : '';
  return { name: template.name, subject: template.subject, html: template.html ?? '', text: template.text ?? '', defaults };
}

/**
 * A template's editor (`#/templates/<id>`, or `#/templates/new`): name, subject, HTML, text and
 * default values; the placeholders it uses, each inserted at the caret with a click; sample values;
 * a live preview; its versions. Saving writes a new version.
 */
export function TemplateEditor({ id, sample, onSample: setSample }: { id: string | null; sample: string; onSample: (sample: string) => void }) {
  const [template, setTemplate] = useState<Template | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  /** The stored version the draft started from (null: a new template). */
  const [base, setBase] = useState<{ version: number; draft: TemplateDraft } | null>(null);
  const [draft, setDraft] = useState<TemplateDraft>(EMPTY);
  const [problem, setProblem] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const inputs = { subject: useRef<HTMLInputElement>(null), html: useRef<HTMLTextAreaElement>(null), text: useRef<HTMLTextAreaElement>(null) };
  const [target, setTarget] = useState<Part>('html');
  const caret = useRef<{ part: Part; at: number } | null>(null);

  const show = useCallback((loaded: Template) => {
    setTemplate(loaded);
    setBase({ version: loaded.version, draft: draftOf(loaded) });
    setDraft(draftOf(loaded));
  }, []);
  useEffect(() => {
    if (id === null) return;
    api<{ data: Template }>('GET', `/templates/${encodeURIComponent(id)}`).then(({ data }) => show(data), setLoadError);
  }, [id, show]);
  const loadVersion = async (version: number) => {
    setProblem(null);
    setSaved(null);
    try {
      const { data } = await api<{ data: Template }>('GET', `/templates/${encodeURIComponent(id ?? '')}/versions/${version}`);
      setBase({ version: data.version, draft: draftOf(data) });
      setDraft((current) => ({ ...draftOf(data), name: current.name }));
    } catch (failure) {
      setProblem(failure);
    }
  };

  // After an insertion, the caret goes back into the field, after what was inserted.
  useEffect(() => {
    const pending = caret.current;
    const input = pending && inputs[pending.part].current;
    if (!pending || !input) return;
    caret.current = null;
    input.focus();
    input.setSelectionRange(pending.at, pending.at);
  });
  const insert = (placeholder: Placeholder) => {
    const input = inputs[target].current;
    const value = draft[target];
    const { value: next, caret: at } = insertAt(value, input?.selectionStart ?? value.length, input?.selectionEnd ?? value.length, snippetOf(placeholder));
    caret.current = { part: target, at };
    setDraft((current) => ({ ...current, [target]: next }));
  };

  const defaults = parseValues(draft.defaults);
  const values = parseValues(sample);
  const placeholders = useMemo(() => placeholdersOf(draft.subject, draft.html, draft.text), [draft.subject, draft.html, draft.text]);
  const source = useMemo<PreviewSource | null>(() => {
    if ('error' in defaults || draft.subject.trim() === '' || (draft.html.trim() === '' && draft.text.trim() === '')) return null;
    if (id !== null && template && base && sameContent(draft, base.draft)) return { kind: 'version', templateId: template.id, version: base.version };
    return { kind: 'draft', content: contentOf(draft, defaults.values) };
  }, [draft, defaults, id, template, base]);
  const preview = useTemplatePreview(source, 'values' in values ? values.values : null);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    setSaved(null);
    if ('error' in defaults) return;
    setSaving(true);
    try {
      const content = contentOf(draft, defaults.values);
      if (id === null) {
        const { data } = await api<{ data: Template }>('POST', '/templates', { name: draft.name.trim(), ...content });
        window.location.hash = `#/templates/${encodeURIComponent(data.id)}`;
        return;
      }
      const renamed = template && draft.name.trim() !== template.name ? { name: draft.name.trim() } : {};
      const { data } = await api<{ data: Template }>('PUT', `/templates/${encodeURIComponent(id)}`, { ...renamed, ...content });
      show(data);
      setSaved(`Saved as version ${data.version}.`);
    } catch (failure) {
      setProblem(failure);
    } finally {
      setSaving(false);
    }
  };
  const remove = async () => {
    if (!template || !window.confirm(`Delete the template ${template.name} and all its versions? Sends that name it fail from then on.`)) return;
    try {
      await api('DELETE', `/templates/${encodeURIComponent(template.id)}`);
      window.location.hash = '#/templates';
    } catch (failure) {
      setProblem(failure);
    }
  };

  if (loadError) return <ErrorState error={loadError} title="The template could not be loaded" />;
  if (id !== null && !template) return <Loading label="Loading the template…" />;
  // Problems of the last save first; else those the draft's preview found (syntax, sizes).
  const errors = { ...fieldErrorsOf(preview.problem), ...fieldErrorsOf(problem) };
  const defaultsError = 'error' in defaults ? defaults.error : errors.defaults;
  const set = (field: keyof TemplateDraft) => (event: { currentTarget: { value: string } }) => {
    const value = event.currentTarget.value;
    setDraft((current) => ({ ...current, [field]: value }));
  };
  const partProps = (part: Part) => ({ onFocus: () => setTarget(part), value: draft[part], onChange: set(part), error: errors[part] });
  const hasValue = (name: string) => ('values' in values && name in values.values) || ('values' in defaults && name in defaults.values);
  const edited = !base || !sameContent(draft, base.draft) || draft.name !== base.draft.name;
  // An earlier version loaded as it was may be saved as it is: it becomes the latest again.
  const savable = edited || !template || base?.version !== template.latestVersion;

  return (
    <Stack>
      <Anchor href="#/templates" size="sm">
        ← Every template
      </Anchor>
      <Group justify="space-between">
        <Title order={2}>{template ? template.name : 'New template'}</Title>
        {template && (
          <Text size="sm" c="dimmed">
            {base && base.version !== template.latestVersion ? `editing from version ${base.version}, ` : ''}latest version {template.latestVersion}
            {edited ? ' · unsaved changes' : ''}
          </Text>
        )}
      </Group>
      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="md" style={{ alignItems: 'start' }}>
        <Paper withBorder p="md">
          <form onSubmit={(event) => void save(event)} aria-label="Template">
            <Stack gap="sm">
              <TextInput label="Name" description="Letters, digits, . _ -; a send may name it instead of its id" value={draft.name} onChange={set('name')} error={errors.name} required maxLength={100} />
              <TextInput label="Subject" ref={inputs.subject} {...partProps('subject')} required maxLength={998} />
              <Textarea label="HTML" description="{{name}} is HTML-escaped, {{{name}}} inserted as it is" ref={inputs.html} {...partProps('html')} autosize minRows={6} maxRows={18} styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }} />
              <Textarea label="Plain text" ref={inputs.text} {...partProps('text')} autosize minRows={4} maxRows={12} styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }} />
              <Textarea label="Default values" description={'JSON, e.g. {"company": "Shop"}; a send\'s own values override them'} value={draft.defaults} onChange={set('defaults')} error={defaultsError} autosize minRows={2} maxRows={8} styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }} />
              <Group>
                <Button type="submit" loading={saving} disabled={!savable}>
                  {id === null ? 'Create template' : 'Save as a new version'}
                </Button>
                {template && (
                  <Button variant="light" color="red" onClick={() => void remove()}>
                    Delete
                  </Button>
                )}
                {saved && <Text size="sm" role="status">{saved}</Text>}
              </Group>
              {problem !== null && !onlyFieldErrors(problem, FIELDS) && <ErrorState error={problem} title="The template was not saved" />}
            </Stack>
          </form>
        </Paper>
        <Stack gap="md">
          <TemplatePlaceholders
            placeholders={placeholders}
            hasValue={hasValue}
            target={PART_NAMES[target]}
            onInsert={insert}
            sample={sample}
            onSample={setSample}
            sampleError={'error' in values ? values.error : undefined}
          />
          <Paper withBorder p="md">
            <TemplatePreview
              state={preview}
              label={source?.kind === 'version' ? `Preview of version ${source.version}` : 'Preview of the unsaved draft'}
              fieldProblem={onlyFieldErrors(preview.problem, FIELDS)}
              onAddSamples={(names) => setSample(withSamples('values' in values ? values.values : {}, names))}
            />
          </Paper>
        </Stack>
      </SimpleGrid>
      {template && <TemplateVersions templateId={template.id} latestVersion={template.latestVersion} shownVersion={base && sameContent(draft, base.draft) ? base.version : null} onLoad={(version) => void loadVersion(version)} />}
    </Stack>
  );
}
