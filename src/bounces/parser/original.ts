import { findAddress } from './address.js';
import { parseHeaderBlock, walk, type MimePart } from './mime.js';
import { originalMessageMarkers } from './textPatterns.js';
import type { OriginalMessage } from './types.js';

/**
 * The returned message's headers, to match a bounce to what was sent: an attached message/rfc822,
 * a text/rfc822-headers part, or headers quoted inline after the report text.
 */
export function findOriginalPart(root: MimePart): MimePart | undefined {
  return walk(root).find((part) => part !== root && (part.type === 'message/rfc822' || part.type === 'message/global'))?.children[0];
}

export function readOriginal(root: MimePart, reportText: string): OriginalMessage {
  const attached = findOriginalPart(root);
  if (attached && attached.headers.length > 0) return fromHeaders(attached.headers);
  const headersPart = walk(root).find((part) => part.type === 'text/rfc822-headers' || part.type === 'text/rfc822-header');
  if (headersPart) return fromHeaders(parseHeaderBlock(headersPart.text));
  return fromHeaders(parseHeaderBlock(inlineHeaders(reportText)));
}

/** The header block quoted after a marker line ("------ This is a copy of the message..."). */
function inlineHeaders(text: string): string {
  let start = -1;
  for (const marker of originalMessageMarkers) {
    const match = marker.exec(text);
    if (match && (start === -1 || match.index < start)) start = match.index + match[0].length;
  }
  if (start === -1) return '';
  const lines = text.slice(start).split('\n').slice(1);
  const firstHeader = lines.findIndex((line) => /^[\w-]+:\s/.test(line));
  if (firstHeader === -1) return '';
  const block: string[] = [];
  for (const line of lines.slice(firstHeader)) {
    if (line.trim() === '') break;
    block.push(line);
  }
  return block.join('\n');
}

function fromHeaders(fields: Array<[string, string]>): OriginalMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) if (!(name in headers)) headers[name] = value;
  const original: OriginalMessage = { headers };
  if (headers['message-id']) original.messageId = headers['message-id'].trim();
  const returnPath = findAddress(headers['return-path'] ?? '');
  if (returnPath) original.returnPath = returnPath;
  if (headers.from) original.from = headers.from;
  if (headers.to) original.to = headers.to;
  if (headers.subject) original.subject = headers.subject;
  return original;
}

