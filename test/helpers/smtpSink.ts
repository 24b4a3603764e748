import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface SunkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  /** When the sink took it (ms since the epoch, after the final dot). */
  at: number;
}

export interface SinkOptions {
  /** Reply for a recipient: null accepts; otherwise [code, text] refuses at RCPT. */
  rcptReply?: (address: string) => [number, string] | null;
  /** Reply after DATA: null accepts. */
  dataReply?: (message: SunkMessage) => [number, string] | null;
  auth?: { user: string; pass: string };
  /** Wait this long before answering DATA (a slow receiver). */
  delayMs?: number;
  /** Listen on this port (an MX sink at MAILROOM_MX_DELIVERY_PORT); default: any free one. */
  port?: number;
}

/** A real SMTP server on loopback (Nodemailer's smtp-server) that records what it accepts. */
export async function startSmtpSink(options: SinkOptions = {}) {
  const messages: SunkMessage[] = [];
  const server = new SMTPServer({
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    logger: false,
    size: 50 * 1024 * 1024,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) return callback(null, { user: auth.username });
      callback(new Error('Invalid username or password'));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const refusal = options.rcptReply?.(address.address);
      if (!refusal) return callback();
      const error = new Error(refusal[1]) as Error & { responseCode: number };
      error.responseCode = refusal[0];
      callback(error);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
        const message: SunkMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks),
          at: Date.now(),
        };
        const refusal = options.dataReply?.(message);
        if (refusal) {
          const error = new Error(refusal[1]) as Error & { responseCode: number };
          error.responseCode = refusal[0];
          return callback(error);
        }
        messages.push(message);
        callback(null, 'Ok: queued');
      });
    },
  });
  // A client killed mid-session resets its connection: that is the test's doing, not a failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
