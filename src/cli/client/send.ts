import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { CliOptions } from '../options.js';
import { clientFromEnv, ClientError, ClientUsageError } from './http.js';

type SendRequest = Record<string, unknown>;
interface SendAnswer { data: { id: string; to: string; status: string }; warnings?: unknown[] }

/** --placeholders: a JSON object of name: value. */
export function placeholdersOption(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ClientUsageError('--placeholders takes a JSON object, e.g. \'{"name":"Ann"}\'');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ClientUsageError('--placeholders takes a JSON object');
  return parsed as Record<string, unknown>;
}

function fromFlags(options: CliOptions): SendRequest {
  if (!options.from || !options.to) throw new ClientUsageError('send needs --from and --to (or a FILE.json / FILE.eml); see mailroom send --help');
  if (!options.template && !options.text && !options.html) throw new ClientUsageError('send needs --text, --html or --template');
  if (!options.template && !options.subject) throw new ClientUsageError('send needs --subject (or a --template that has one)');
  const request: SendRequest = { from: options.from, to: options.to };
  if (options.subject) request.subject = options.subject;
  // The API's text is required unless a template gives it; HTML given alone is detected as HTML.
  if (options.text) request.text = options.text;
  else if (options.html) request.text = options.html;
  if (options.html && options.text) request.html = options.html;
  if (options.template) request.templateId = options.template;
  const placeholders = placeholdersOption(options.placeholders);
  if (placeholders) request.placeholders = placeholders;
  return request;
}

/**
 * A .eml file as a send request. The API takes no raw MIME over HTTP (SMTP does), so the message
 * is sent as its parsed fields: its other headers, Message-ID and structure are not kept.
 */
async function fromEml(raw: Buffer): Promise<SendRequest> {
  const { simpleParser } = await import('mailparser');
  const mail = await simpleParser(raw);
  const addresses = (field: typeof mail.to) => (Array.isArray(field) ? field : field ? [field] : []).flatMap((group) => group.value.map((entry) => (entry.name ? `${entry.name} <${entry.address}>` : entry.address ?? '')));
  const from = addresses(mail.from)[0];
  const [to, ...moreTo] = addresses(mail.to);
  if (!from || !to) throw new ClientUsageError('the .eml has no From or no To');
  if (moreTo.length > 0) throw new ClientUsageError('the .eml has several To addresses; the API sends one recipient per message (put the others in Cc, or send one file each)');
  const request: SendRequest = { from, to, subject: mail.subject ?? '' };
  const html = typeof mail.html === 'string' ? mail.html : undefined;
  request.text = mail.text ?? html ?? '';
  if (html && mail.text) request.html = html;
  const cc = addresses(mail.cc);
  if (cc.length > 0) request.cc = cc;
  const replyTo = addresses(mail.replyTo)[0];
  if (replyTo) request.replyTo = replyTo;
  if (mail.attachments.length > 0) {
    request.attachments = mail.attachments.map((attachment, index) => ({
      filename: attachment.filename ?? `attachment-${index + 1}`, content: attachment.content.toString('base64'), contentType: attachment.contentType,
    }));
  }
  return request;
}

async function fromFile(file: string, options: CliOptions): Promise<SendRequest> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (error) {
    throw new ClientError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (extname(file).toLowerCase() === '.eml') return fromEml(raw);
  let request: unknown;
  try {
    request = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ClientUsageError(`${file} is neither a .eml nor JSON`);
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) throw new ClientUsageError(`${file} must hold one send request (a JSON object)`);
  // Flags given beside the file override its fields.
  const overrides = Object.fromEntries(Object.entries({ from: options.from, to: options.to, subject: options.subject, templateId: options.template }).filter(([, value]) => value !== undefined));
  return { ...(request as SendRequest), ...overrides };
}

/** `mailroom send`: one message through POST /emails; prints its id and status. */
export async function sendCommand(args: string[], options: CliOptions): Promise<number> {
  if (args.length > 1) throw new ClientUsageError('send takes one FILE at most');
  const request = args[0] ? await fromFile(args[0], options) : fromFlags(options);
  const { body } = await clientFromEnv().request<SendAnswer>('POST', '/emails', { body: request });
  if (options.json) process.stdout.write(`${JSON.stringify(body)}\n`);
  else process.stdout.write(`${body.data.id}\t${body.data.to}\t${body.data.status}\n`);
  return body.data.status === 'REJECTED' ? 1 : 0;
}
