import { Anchor, Button, Group, Stack, Table, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api, type Page } from '../api.js';
import { relativeTime } from '../format.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { TemplateEditor } from './TemplateEditor.js';

interface TemplateSummary {
  id: string;
  name: string;
  version: number;
  subject: string;
  createdAt: string;
  updatedAt: string;
}

/** Templates: the list by name (`#/templates`), a new one (`#/templates/new`) or one template's editor (`#/templates/<id>`). */
export function Templates({ id }: { id?: string | undefined }) {
  // The sample values outlive one editor: a template just created (a new editor) keeps them, and so does the next one opened.
  const [sample, setSample] = useState('{}');
  if (id === 'new') return <TemplateEditor key="new" id={null} sample={sample} onSample={setSample} />;
  if (id) return <TemplateEditor key={id} id={id} sample={sample} onSample={setSample} />;
  return <TemplateList />;
}

function TemplateList() {
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const [page, setPage] = useState<Page<TemplateSummary> | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const query = new URLSearchParams({ limit: '50' });
      if (cursor) query.set('cursor', cursor);
      setPage(await api<Page<TemplateSummary>>('GET', `/templates?${query}`));
    } catch (failure) {
      setError(failure);
    }
  }, [cursor]);
  useEffect(() => void load(), [load]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Templates</Title>
        <Button component="a" href="#/templates/new">
          New template
        </Button>
      </Group>
      {error ? <ErrorState error={error} title="The templates could not be loaded" /> : !page ? <Loading label="Loading templates…" /> : page.data.length === 0 ? (
        <Empty>No templates yet. A template holds a subject and a body with {'{{placeholders}}'}; a send names it and gives their values.</Empty>
      ) : (
        <Table.ScrollContainer minWidth={600}>
          <Table aria-label="Templates">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">Subject</Table.Th>
                <Table.Th scope="col">Version</Table.Th>
                <Table.Th scope="col">Changed</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.map((template) => (
                <Table.Tr key={template.id} data-template={template.name}>
                  <Table.Td>
                    <Anchor href={`#/templates/${encodeURIComponent(template.id)}`}>{template.name}</Anchor>
                  </Table.Td>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{template.subject}</Table.Td>
                  <Table.Td>{template.version}</Table.Td>
                  <Table.Td>{relativeTime(template.updatedAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Pager pages={pages} next={page?.meta.pagination?.nextCursor} />
    </Stack>
  );
}
