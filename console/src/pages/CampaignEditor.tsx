import { Button, Group, MultiSelect, Paper, Radio, Select, SimpleGrid, Stack, TagsInput, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiProblem } from '../api.js';
import { bodyOf, EMPTY_FORM, fieldErrors, formOf, type CampaignForm, type Tracking } from '../campaignForm.js';
import type { Campaign } from '../campaigns.js';
import { allLists } from '../lists.js';
import { ErrorState } from '../components/states.js';

const TRACKING = [
  { value: 'default', label: 'The account\'s default' },
  { value: 'on', label: 'On' },
  { value: 'off', label: 'Off' },
];

/**
 * A campaign's definition, new (POST /campaigns) or a draft's or scheduled one's edit (PATCH):
 * the API checks it, and each problem it names is shown at its field.
 */
export function CampaignEditor({ campaign, onSaved, onCancel }: { campaign: Campaign | null; onSaved: (saved: Campaign) => void; onCancel?: () => void }) {
  const [form, setForm] = useState<CampaignForm>(() => (campaign ? formOf(campaign) : EMPTY_FORM));
  const [lists, setLists] = useState<{ value: string; label: string }[]>([]);
  const [templates, setTemplates] = useState<{ value: string; label: string }[]>([]);
  const [problem, setProblem] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    allLists().then((found) => setLists(found.map((list) => ({ value: list.id, label: list.name }))), setProblem);
    api<{ data: { id: string; name: string; version: number }[] }>('GET', '/templates?limit=100').then(
      (found) => setTemplates(found.data.map((template) => ({ value: template.id, label: `${template.name} (v${template.version})` }))),
      () => setTemplates([]),
    );
  }, []);

  const errors = problem instanceof ApiProblem ? fieldErrors(problem.details) : {};
  const set = <K extends keyof CampaignForm>(name: K, value: CampaignForm[K]) => setForm((current) => ({ ...current, [name]: value }));
  const text = (name: 'name' | 'from' | 'replyTo' | 'subject' | 'templateVersion' | 'ratePerMinute') => ({
    value: form[name],
    onChange: (event: { currentTarget: { value: string } }) => set(name, event.currentTarget.value),
    error: errors[name],
  });
  // A list id the account no longer has (deleted since) is still shown, by its id.
  const listOptions = [...lists, ...[...form.lists, ...form.excludeLists].filter((id) => !lists.some((list) => list.value === id)).map((id) => ({ value: id, label: id }))];

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    setSaving(true);
    try {
      const body = bodyOf(form, campaign);
      // An edit that changes nothing has nothing to send (the API refuses an empty PATCH).
      if (campaign && Object.keys(body).length === 0) return onSaved(campaign);
      const { data } = campaign ? await api<{ data: Campaign }>('PATCH', `/campaigns/${encodeURIComponent(campaign.id)}`, body) : await api<{ data: Campaign }>('POST', '/campaigns', body);
      onSaved(data);
    } catch (failure) {
      setProblem(failure);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Stack>
      <Title order={2}>{campaign ? `Edit ${campaign.name}` : 'New campaign'}</Title>
      <form onSubmit={(event) => void save(event)} aria-label="Campaign" noValidate>
        <Stack>
          <Paper withBorder p="md">
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <TextInput label="Name" description="For you: never shown to the recipients" maxLength={200} required {...text('name')} />
              <TextInput label="From" description={'A verified sender: address, or "Name <address>"'} required {...text('from')} />
              <TextInput label="Reply-To" description="Optional" {...text('replyTo')} />
              <TagsInput label="Tags" description="Press Enter after each" value={form.tags} onChange={(value) => set('tags', value)} error={errors.tags} maxTags={20} />
              <MultiSelect label="Lists" description="Their subscribed members, each once" data={listOptions} value={form.lists} onChange={(value) => set('lists', value)} error={errors.lists} searchable required />
              <MultiSelect label="Leave out the members of" description="Optional" data={listOptions} value={form.excludeLists} onChange={(value) => set('excludeLists', value)} error={errors.excludeLists} searchable />
            </SimpleGrid>
          </Paper>
          <Paper withBorder p="md">
            <Stack>
              <Radio.Group label="Content" value={form.content} onChange={(value) => set('content', value === 'template' ? 'template' : 'inline')}>
                <Group mt="xs">
                  <Radio value="inline" label="Written here" />
                  <Radio value="template" label="A template" />
                </Group>
              </Radio.Group>
              <Text size="sm" c="dimmed">
                Placeholders: {'{{email}}'}, {'{{name}}'} and each attribute of the contact, e.g. {'{{city}}'}. A contact without a value for one is not mailed.
              </Text>
              {form.content === 'template' && (
                <SimpleGrid cols={{ base: 1, sm: 2 }}>
                  <Select label="Template" data={templates} value={form.templateId || null} onChange={(value) => set('templateId', value ?? '')} error={errors.templateId} searchable nothingFoundMessage="No template of that name" />
                  <TextInput label="Version" description="Empty: the latest when it starts" inputMode="numeric" {...text('templateVersion')} />
                </SimpleGrid>
              )}
              <TextInput label="Subject" description={form.content === 'template' ? "Optional: replaces the template's" : undefined} required={form.content === 'inline'} {...text('subject')} />
              {form.content === 'inline' && (
                <>
                  <Textarea label="HTML" value={form.html} onChange={(event) => set('html', event.currentTarget.value)} error={errors.html} autosize minRows={6} maxRows={20} styles={{ input: { fontFamily: 'monospace' } }} />
                  <Textarea label="Plain text" description="Optional with HTML: derived from it when empty" value={form.text} onChange={(event) => set('text', event.currentTarget.value)} error={errors.text} autosize minRows={3} maxRows={12} />
                </>
              )}
            </Stack>
          </Paper>
          <Paper withBorder p="md">
            <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
              <Select label="Track opens" data={TRACKING} value={form.trackOpens} onChange={(value) => set('trackOpens', (value ?? 'default') as Tracking)} error={errors.trackOpens} allowDeselect={false} />
              <Select label="Track clicks" data={TRACKING} value={form.trackClicks} onChange={(value) => set('trackClicks', (value ?? 'default') as Tracking)} error={errors.trackClicks} allowDeselect={false} />
              <TextInput label="Send at" description="Your time zone; empty: when started" type="datetime-local" value={form.sendAt} onChange={(event) => set('sendAt', event.currentTarget.value)} error={errors.sendAt} />
              <TextInput label="Messages per minute" description="Empty: as fast as the account may" inputMode="numeric" {...text('ratePerMinute')} />
            </SimpleGrid>
          </Paper>
          {problem !== null && <ErrorState error={problem} title={`${campaign ? 'The campaign was not saved' : 'The campaign was not created'}${Object.keys(errors).length > 0 ? ': see the fields marked' : ''}`} />}
          <Group>
            <Button type="submit" loading={saving}>
              {campaign ? 'Save changes' : 'Create campaign'}
            </Button>
            {onCancel ? (
              <Button variant="default" onClick={onCancel}>
                Cancel
              </Button>
            ) : (
              <Button component="a" href="#/campaigns" variant="default">
                Back to campaigns
              </Button>
            )}
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}
