import { Code, Table, Tabs, Text } from '@mantine/core';
import { Empty } from './states.js';
import { HtmlFrame } from './HtmlFrame.js';

export interface ContentView {
  html: string | null;
  text: string | null;
  headers: { name: string; value: string }[];
  attachments: { filename: string | null; contentType: string | null; size: number }[];
}

const size = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

export function ContentTabs({ content }: { content: ContentView }) {
  return (
    <Tabs defaultValue={content.html ? 'preview' : 'text'} keepMounted={false}>
      <Tabs.List>
        <Tabs.Tab value="preview" disabled={!content.html}>
          HTML
        </Tabs.Tab>
        <Tabs.Tab value="text">Plain text</Tabs.Tab>
        <Tabs.Tab value="headers">Headers</Tabs.Tab>
        <Tabs.Tab value="attachments">Attachments ({content.attachments.length})</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="preview" pt="sm">
        {content.html && <HtmlFrame html={content.html} title="The message's HTML (scripts, forms and remote content are blocked)" />}
      </Tabs.Panel>
      <Tabs.Panel value="text" pt="sm">
        {content.text ? (
          <Code block style={{ whiteSpace: 'pre-wrap' }}>
            {content.text}
          </Code>
        ) : (
          <Empty>No plain-text part.</Empty>
        )}
      </Tabs.Panel>
      <Tabs.Panel value="headers" pt="sm">
        <Table aria-label="Headers">
          <Table.Tbody>
            {content.headers.map((header, index) => (
              <Table.Tr key={`${header.name}-${index}`}>
                <Table.Th scope="row" w={200}>
                  {header.name}
                </Table.Th>
                <Table.Td style={{ overflowWrap: 'anywhere' }}>{header.value}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Tabs.Panel>
      <Tabs.Panel value="attachments" pt="sm">
        {content.attachments.length === 0 ? (
          <Empty>No attachments.</Empty>
        ) : (
          <Table aria-label="Attachments">
            <Table.Tbody>
              {content.attachments.map((attachment, index) => (
                <Table.Tr key={index}>
                  <Table.Td>{attachment.filename ?? <Text span c="dimmed">no name</Text>}</Table.Td>
                  <Table.Td>{attachment.contentType ?? ''}</Table.Td>
                  <Table.Td>{size(attachment.size)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Tabs.Panel>
    </Tabs>
  );
}
