import { simpleParser } from 'mailparser';
import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import type { ComposedContent, StoredContent } from './render.js';

const sql = sqlFile(new URL('./messages.sql', import.meta.url), ['messageContent', 'bodyById'] as const);

/** What a message says, as a reader (the console's preview) shows it: never the attachments' bytes. */
export interface ContentView {
  html: string | null;
  /** The plain-text part. */
  text: string | null;
  headers: { name: string; value: string }[];
  attachments: { filename: string | null; contentType: string | null; size: number }[];
}

/** The bytes a base64 string holds. */
function decodedSize(base64: string): number {
  const clean = base64.replace(/[^A-Za-z0-9+/]/g, '');
  return Math.floor((clean.length * 3) / 4);
}

function composedView(content: ComposedContent): ContentView {
  const headers = [
    { name: 'From', value: content.from },
    { name: 'To', value: content.to },
    ...(content.cc.length > 0 ? [{ name: 'Cc', value: content.cc.join(', ') }] : []),
    ...(content.replyTo ? [{ name: 'Reply-To', value: content.replyTo }] : []),
    { name: 'Subject', value: content.subject },
    ...Object.entries(content.headers).map(([name, value]) => ({ name, value })),
  ];
  return {
    html: content.html,
    text: content.html === null ? content.text : content.plain,
    headers,
    attachments: content.attachments.map((attachment) => ({ filename: attachment.filename, contentType: attachment.contentType, size: decodedSize(attachment.content) })),
  };
}

async function rawView(db: Queryable, accountId: number, bodyId: string): Promise<ContentView> {
  const [body] = await db.query<{ raw: Uint8Array }>(sql.bodyById, [accountId, bodyId]);
  if (!body) return { html: null, text: null, headers: [], attachments: [] };
  return mimeView(Buffer.from(body.raw.buffer, body.raw.byteOffset, body.raw.byteLength));
}

/** A MIME message's parts, headers and attachments (a submitted message, or one the sandbox caught). */
export async function mimeView(raw: Buffer | string): Promise<ContentView> {
  const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextLinks: true });
  return {
    html: typeof parsed.html === 'string' ? parsed.html : null,
    text: parsed.text ?? null,
    headers: parsed.headerLines.map((header) => {
      const colon = header.line.indexOf(':');
      return { name: colon > 0 ? header.line.slice(0, colon) : header.key, value: colon > 0 ? header.line.slice(colon + 1).trim() : header.line };
    }),
    attachments: parsed.attachments.map((attachment) => ({ filename: attachment.filename ?? null, contentType: attachment.contentType ?? null, size: attachment.size })),
  };
}

/**
 * A message's content: its HTML and plain-text parts, headers, and its attachments' names, types
 * and sizes. Null when the account has no such message, or its content is not kept in clear
 * (a HIPAA message: sealed or shredded).
 */
export async function getContent(db: Queryable, accountId: number, id: string): Promise<ContentView | null> {
  const [row] = await db.query<{ content: StoredContent }>(sql.messageContent, [accountId, id]);
  if (!row) return null;
  const { content } = row;
  if (content.kind === 'sealed' || content.kind === 'shredded') return null;
  if (content.kind === 'raw') return rawView(db, accountId, content.bodyId);
  return composedView(content);
}
