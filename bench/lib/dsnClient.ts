import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';

/**
 * The load generator of the bounces benchmark: delivers prepared reports (one envelope recipient
 * each, null sender, as an MTA returns a DSN) over C concurrent SMTP connections, each reused for
 * report after report, and records the latency of each from the end of its DATA (the final
 * ".") to the reply.
 *
 * Two clients, for the same job:
 * - `raw` (the default): a small SMTP client with PIPELINING (RFC 2920), as Postfix's smtp client
 *   sends: MAIL FROM, RCPT TO and DATA in one write, then the message and its "." in one write.
 *   The messages are dot-stuffed and encoded before the clock starts, so the client costs little.
 * - `nodemailer`: Nodemailer's pooled SMTP transport (C connections); its latency is the whole
 *   transaction (sendMail to its callback), not just the end of DATA.
 */
export interface Report {
  /** The envelope recipient (a VERP Return-Path). */
  to: string;
  /** The report as it goes on the wire inside DATA (CRLF line ends, not yet dot-stuffed). */
  raw: Buffer;
}

export type ClientKind = 'raw' | 'nodemailer';

export interface LoadRun {
  client: ClientKind;
  connections: number;
  /** Reports handed to the client, and answered 2xx after DATA. */
  sent: number;
  accepted: number;
  /** Refusals (any non-2xx reply in a transaction), with a few samples. */
  refused: number;
  refusals: string[];
  /** From the first report written to the last reply (connections are opened before the clock starts). */
  seconds: number;
  /** The window on the system's monotonic clock, microseconds (the clock of V8's CPU profiles). */
  monotonicWindowUs: [number, number];
  /** Milliseconds from the end of DATA to its reply (raw), or per transaction (nodemailer). */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** How many 2xx replies to DATA matched `expectReply` (when given). */
  matched: number;
  /** A few replies to DATA, for the log. */
  sampleReplies: string[];
}

export interface LoadOptions {
  port: number;
  host?: string;
  connections: number;
  client: ClientKind;
  /** A pattern each 2xx reply to DATA is counted against (e.g. /BOUNCED/). */
  expectReply?: RegExp;
  heloName?: string;
  replyTimeoutMs?: number;
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function summary(values: Float64Array, count: number): LoadRun['latency'] {
  if (count === 0) return { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = values.slice(0, count).sort();
  const at = (q: number) => sorted[Math.min(count - 1, Math.floor(q * count))]!;
  let sum = 0;
  for (const value of sorted) sum += value;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[count - 1]!, mean: sum / count };
}

/** RFC 5321 4.5.2 transparency, and the end of data. */
export function dataPayload(raw: Buffer): Buffer {
  let text = raw.toString('latin1');
  if (!text.endsWith('\r\n')) text += '\r\n';
  text = text.replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(`${text}.\r\n`, 'latin1');
}

/** One SMTP connection that reads replies (multi-line aware) in order. */
class Connection {
  private buffer = '';
  private pending: string[] = [];
  private queue: string[] = [];
  private waiters: { resolve: (reply: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }[] = [];
  private failure: Error | null = null;

  private constructor(
    readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => {
        socket.off('error', reject);
        resolve(new Connection(socket, timeoutMs));
      });
      socket.once('error', reject);
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '');
      this.buffer = this.buffer.slice(newline + 1);
      this.pending.push(line);
      if (line[3] === '-') continue;
      const reply = this.pending.join('\n');
      this.pending = [];
      const waiter = this.waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(reply);
      } else {
        this.queue.push(reply);
      }
    }
  }

  read(): Promise<string> {
    const ready = this.queue.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`no SMTP reply within ${this.timeoutMs} ms`));
        }, this.timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

const ok = (reply: string) => reply.startsWith('2');

async function runRaw(reports: readonly Report[], options: LoadOptions): Promise<LoadRun> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.replyTimeoutMs ?? 60_000;
  // Everything a transaction writes, prepared before the clock starts.
  const envelopes = reports.map((report) => `MAIL FROM:<>\r\nRCPT TO:<${report.to}>\r\nDATA\r\n`);
  const payloads = reports.map((report) => dataPayload(report.raw));
  const connections = await Promise.all(
    Array.from({ length: Math.min(options.connections, reports.length) }, async () => {
      const connection = await Connection.open(host, options.port, timeoutMs);
      const greeting = await connection.read();
      if (!greeting.startsWith('220')) throw new Error(`greeting: ${greeting}`);
      connection.write(`EHLO ${options.heloName ?? 'mta.bench.test'}\r\n`);
      const ehlo = await connection.read();
      if (!ehlo.startsWith('250')) throw new Error(`EHLO: ${ehlo}`);
      if (!/^250[- ]PIPELINING$/im.test(ehlo)) throw new Error(`the server does not offer PIPELINING: ${ehlo}`);
      return connection;
    }),
  );
  const latencies = new Float64Array(reports.length);
  let measured = 0;
  let next = 0;
  let accepted = 0;
  let refused = 0;
  let matched = 0;
  const refusals: string[] = [];
  const sampleReplies: string[] = [];
  const refuse = (index: number, reply: string) => {
    refused++;
    if (refusals.length < 5) refusals.push(`${reports[index]!.to}: ${reply.replace(/\n/g, ' | ')}`);
  };
  const monotonicStart = monotonicUs();
  const started = performance.now();
  await Promise.all(
    connections.map(async (connection) => {
      for (let index = next++; index < reports.length; index = next++) {
        connection.write(envelopes[index]!);
        const mail = await connection.read();
        const rcpt = await connection.read();
        const data = await connection.read();
        if (!data.startsWith('354')) {
          refuse(index, ok(mail) ? (ok(rcpt) ? data : rcpt) : mail);
          connection.write('RSET\r\n');
          await connection.read();
          continue;
        }
        // A server that refused the envelope yet answers 354 (it should not) gets the message, and a refusal.
        const envelopeRefused = !ok(mail) || !ok(rcpt);
        if (envelopeRefused) refuse(index, ok(mail) ? rcpt : mail);
        connection.write(payloads[index]!);
        const sentAt = performance.now();
        const reply = await connection.read();
        latencies[measured++] = performance.now() - sentAt;
        if (envelopeRefused) continue;
        if (!ok(reply)) {
          refuse(index, reply);
          continue;
        }
        accepted++;
        if (options.expectReply?.test(reply)) matched++;
        if (sampleReplies.length < 3) sampleReplies.push(reply);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const monotonicEnd = monotonicUs();
  await Promise.all(
    connections.map(async (connection) => {
      connection.write('QUIT\r\n');
      await connection.read().catch(() => '');
      connection.close();
    }),
  );
  return {
    client: 'raw', connections: connections.length, sent: reports.length, accepted, refused, refusals, seconds,
    monotonicWindowUs: [monotonicStart, monotonicEnd], latency: summary(latencies, measured), matched, sampleReplies,
  };
}

async function runNodemailer(reports: readonly Report[], options: LoadOptions): Promise<LoadRun> {
  const transport = nodemailer.createTransport({
    pool: true, host: options.host ?? '127.0.0.1', port: options.port, secure: false, ignoreTLS: true,
    maxConnections: options.connections, maxMessages: Infinity, name: options.heloName ?? 'mta.bench.test',
  });
  // Nodemailer opens its pooled connections lazily: a first round (one report per connection, not
  // counted) opens them before the clock starts.
  const warm = reports.slice(0, options.connections);
  const warmReplies = await Promise.all(warm.map((report) => transport.sendMail({ envelope: { from: '', to: [report.to] }, raw: report.raw })));
  const rest = reports.slice(warm.length);
  const latencies = new Float64Array(rest.length);
  let measured = 0;
  let next = 0;
  let accepted = warm.length;
  let refused = 0;
  let matched = warmReplies.filter((info) => options.expectReply?.test(info.response)).length;
  const refusals: string[] = [];
  const sampleReplies: string[] = [];
  const monotonicStart = monotonicUs();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      for (let index = next++; index < rest.length; index = next++) {
        const report = rest[index]!;
        const sentAt = performance.now();
        try {
          const info = await transport.sendMail({ envelope: { from: '', to: [report.to] }, raw: report.raw });
          latencies[measured++] = performance.now() - sentAt;
          accepted++;
          if (options.expectReply?.test(info.response)) matched++;
          if (sampleReplies.length < 3) sampleReplies.push(info.response);
        } catch (error) {
          refused++;
          if (refusals.length < 5) refusals.push(`${report.to}: ${String((error as { response?: string }).response ?? (error as Error).message)}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const monotonicEnd = monotonicUs();
  transport.close();
  return {
    client: 'nodemailer', connections: options.connections, sent: reports.length, accepted, refused, refusals, seconds,
    monotonicWindowUs: [monotonicStart, monotonicEnd], latency: summary(latencies, measured), matched, sampleReplies,
  };
}

/** Sends every report once; the rate is over the timed part (for nodemailer, all but the first round). */
export function sendReports(reports: readonly Report[], options: LoadOptions): Promise<LoadRun> {
  return options.client === 'raw' ? runRaw(reports, options) : runNodemailer(reports, options);
}

/** Reports per second of a run (over its timed part). */
export function reportsPerSecond(run: LoadRun): number {
  const timed = run.client === 'nodemailer' ? run.sent - Math.min(run.connections, run.sent) : run.sent;
  return timed / run.seconds;
}

export interface DsnFields {
  /** The VERP Return-Path the original was sent from (the DSN goes to it). */
  returnPath: string;
  /** The failed recipient. */
  recipient: string;
  /** The original message's id at Mailroom, for the quoted headers. */
  messageId: string;
  from: string;
  subject: string;
  /** A sequence number, for queue ids, dates and boundaries that differ from report to report. */
  sequence: number;
}

const QUEUE_ID_ALPHABET = 'BCDFGHJKLMNPQRSTVWXYZbcdfghjkmnpqrstvwxyz0123456789';

function queueId(sequence: number): string {
  let value = sequence * 7919 + 104729;
  let id = '4Z';
  for (let i = 0; i < 10; i++) {
    id += QUEUE_ID_ALPHABET[value % QUEUE_ID_ALPHABET.length];
    value = Math.floor(value / QUEUE_ID_ALPHABET.length) + i * 31;
  }
  return id;
}

/**
 * A DSN as Postfix 3.7's bounce daemon writes it for a recipient the remote mailbox server
 * refused at RCPT with 550 5.1.1 (user unknown): multipart/report with the human-readable
 * notification, the message/delivery-status part and the original's headers
 * (text/rfc822-headers: the returned message not sent back whole; its Received and
 * DKIM-Signature headers left out to keep it near 2 KB). CRLF line ends.
 */
export function postfixDsn(fields: DsnFields): Buffer {
  const id = queueId(fields.sequence);
  const date = new Date(Date.UTC(2026, 11, 2, 9, 0, 0) + fields.sequence * 1000).toUTCString().replace('GMT', '+0000');
  const boundary = `${id}.${1_796_202_000 + fields.sequence}/mx1.customer.bench.test`;
  const recipientDomain = fields.recipient.slice(fields.recipient.lastIndexOf('@') + 1);
  const lines = [
    `Return-Path: <>`,
    `Received: by mx1.customer.bench.test (Postfix)`,
    `\tid ${id}; ${date}`,
    `Date: ${date}`,
    `From: MAILER-DAEMON@mx1.customer.bench.test (Mail Delivery System)`,
    `Subject: Undelivered Mail Returned to Sender`,
    `To: ${fields.returnPath}`,
    `Auto-Submitted: auto-replied`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/report; report-type=delivery-status;`,
    `\tboundary="${boundary}"`,
    `Content-Transfer-Encoding: 8bit`,
    `Message-Id: <${date.replace(/\W/g, '').slice(0, 14)}.${id}@mx1.customer.bench.test>`,
    ``,
    `This is a MIME-encapsulated message.`,
    ``,
    `--${boundary}`,
    `Content-Description: Notification`,
    `Content-Type: text/plain; charset=us-ascii`,
    ``,
    `This is the mail system at host mx1.customer.bench.test.`,
    ``,
    `I'm sorry to have to inform you that your message could not`,
    `be delivered to one or more recipients. It's attached below.`,
    ``,
    `                   The mail system`,
    ``,
    `<${fields.recipient}>: host mailstore.${recipientDomain}[10.0.4.17] said: 550`,
    `    5.1.1 <${fields.recipient}>: Recipient address rejected: User unknown in`,
    `    virtual mailbox table (in reply to RCPT TO command)`,
    ``,
    `--${boundary}`,
    `Content-Description: Delivery report`,
    `Content-Type: message/delivery-status`,
    ``,
    `Reporting-MTA: dns; mx1.customer.bench.test`,
    `X-Postfix-Queue-ID: ${id}`,
    `X-Postfix-Sender: rfc822; ${fields.returnPath}`,
    `Arrival-Date: ${date}`,
    ``,
    `Final-Recipient: rfc822; ${fields.recipient}`,
    `Original-Recipient: rfc822;${fields.recipient}`,
    `Action: failed`,
    `Status: 5.1.1`,
    `Remote-MTA: dns; mailstore.${recipientDomain}`,
    `Diagnostic-Code: smtp; 550 5.1.1 <${fields.recipient}>: Recipient address`,
    `    rejected: User unknown in virtual mailbox table`,
    ``,
    `--${boundary}`,
    `Content-Description: Undelivered Message Headers`,
    `Content-Type: text/rfc822-headers`,
    `Content-Transfer-Encoding: 8bit`,
    ``,
    `Return-Path: <${fields.returnPath}>`,
    `Message-ID: <${fields.messageId.toLowerCase()}@shop.bench.test>`,
    `Date: ${date}`,
    `From: ${fields.from}`,
    `To: ${fields.recipient}`,
    `Subject: ${fields.subject}`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/alternative; boundary="mr-${fields.messageId.toLowerCase()}"`,
    ``,
    `--${boundary}--`,
    ``,
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
