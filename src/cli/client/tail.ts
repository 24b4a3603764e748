import type { CliOptions } from '../options.js';
import { clientFromEnv, ClientUsageError, errorOf } from './http.js';

interface StreamedEvent {
  id: number;
  type: string;
  messageId: string;
  to: string | null;
  timestamp: string;
  details?: Record<string, unknown> | null;
}

/** How long to wait before reconnecting a stream that ended (the server restarting, say). */
const RECONNECT_MS = 2_000;

function line(event: StreamedEvent): string {
  const reason = event.details && typeof event.details === 'object' ? (event.details.reason ?? event.details.message ?? event.details.response) : undefined;
  return `${event.timestamp}\t${event.type}\t${event.messageId}\t${event.to ?? '-'}${typeof reason === 'string' ? `\t${reason}` : ''}`;
}

/**
 * `mailroom tail`: follows GET /events/stream (Server-Sent Events) and prints each event as one
 * line (or one JSON object with --json). A dropped stream is reopened after the last event seen
 * (Last-Event-ID), so that nothing is printed twice or skipped; it runs until interrupted.
 */
export async function tailCommand(args: string[], options: CliOptions): Promise<number> {
  if (args.length > 0) throw new ClientUsageError(`tail takes no arguments (got "${args[0]}"); see mailroom tail --help`);
  if (options.after !== undefined && !/^\d{1,15}$/.test(options.after)) throw new ClientUsageError('--after takes an event id');
  const client = clientFromEnv();
  let lastId: string | null = options.after ?? null;
  for (;;) {
    const url = new URL('/events/stream', client.baseUrl);
    if (options.type) url.searchParams.set('types', options.type);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (process.env.MAILROOM_API_KEY) headers.authorization = `Bearer ${process.env.MAILROOM_API_KEY}`;
    if (lastId !== null) headers['last-event-id'] = lastId;
    let response: Response;
    try {
      response = await fetch(url, { headers });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      continue;
    }
    if (!response.ok || !response.body) {
      // A refusal (a bad key, an unknown type) is not going to change by retrying.
      throw errorOf(response.status, await response.text());
    }
    let buffered = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const data = block.split('\n').filter((field) => field.startsWith('data: ')).map((field) => field.slice(6)).join('\n');
          if (!data) continue;
          const event = JSON.parse(data) as StreamedEvent;
          lastId = String(event.id);
          process.stdout.write(`${options.json ? JSON.stringify(event) : line(event)}\n`);
        }
      }
    } catch {
      // the connection dropped: reopen it below
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}
