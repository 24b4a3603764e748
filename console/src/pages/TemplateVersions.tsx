import { Badge, Button, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api, type Page } from '../api.js';
import { relativeTime } from '../format.js';
import { Pager, useCursorPages } from '../components/Pager.js';
import { Empty, ErrorState, Loading } from '../components/states.js';

interface VersionSummary {
  version: number;
  subject: string;
  hasText: boolean;
  hasHtml: boolean;
  createdAt: string;
}

/** A template's versions, newest first; any of them can be loaded into the editor (saving it makes a new version). */
export function TemplateVersions({ templateId, latestVersion, shownVersion, onLoad }: { templateId: string; latestVersion: number; shownVersion: number | null; onLoad: (version: number) => void }) {
  const pages = useCursorPages<string>();
  const { cursor } = pages;
  const [page, setPage] = useState<Page<VersionSummary> | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const query = new URLSearchParams({ limit: '10' });
      if (cursor) query.set('cursor', cursor);
      setPage(await api<Page<VersionSummary>>('GET', `/templates/${encodeURIComponent(templateId)}/versions?${query}`));
      setError(null);
    } catch (failure) {
      setError(failure);
    }
    // latestVersion: a save adds a version, which the first page then shows.
  }, [templateId, cursor, latestVersion]);
  useEffect(() => void load(), [load]);

  return (
    <Stack gap="sm">
      <Title order={3} size="h4">
        Versions
      </Title>
      {error ? <ErrorState error={error} title="The versions could not be loaded" /> : !page ? <Loading label="Loading the versions…" /> : page.data.length === 0 ? <Empty>No versions.</Empty> : (
        <Table.ScrollContainer minWidth={560}>
          <Table aria-label="Versions">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Version</Table.Th>
                <Table.Th scope="col">Subject</Table.Th>
                <Table.Th scope="col">Parts</Table.Th>
                <Table.Th scope="col">Saved</Table.Th>
                <Table.Th scope="col">
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.map((version) => (
                <Table.Tr key={version.version} data-version={version.version}>
                  <Table.Td>
                    {version.version}
                    {version.version === latestVersion && (
                      <Badge ml="xs" size="sm" variant="outline" color="#1b5e20">
                        latest
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{version.subject}</Table.Td>
                  <Table.Td>{[version.hasHtml && 'HTML', version.hasText && 'text'].filter(Boolean).join(', ')}</Table.Td>
                  <Table.Td>{relativeTime(version.createdAt)}</Table.Td>
                  <Table.Td>
                    {version.version === shownVersion ? (
                      <Text size="sm">in the editor</Text>
                    ) : (
                      <Button size="xs" variant="default" onClick={() => onLoad(version.version)} aria-label={`Load version ${version.version} into the editor`}>
                        Load
                      </Button>
                    )}
                  </Table.Td>
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
