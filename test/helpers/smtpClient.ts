import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/** One SMTP reply: its code, the enhanced code of its last line (if any), and every line's text. */
export interface Reply {
  code: number;
  enhanced: string | null;
  lines: string[];
  /** The whole reply as received, lines joined with "\n". */
  text: string;
}

/**
 * A line-level SMTP client for tests that need to see the protocol itself (what EHLO offers,
 * the exact reply to a bad command, pipelined commands, a connection dropped mid-DATA), which
 * Nodemailer hides. Replies are parsed per RFC 5321 4.2 (multi-line "250-" continuations).
 */
export class SmtpClient {
  private buffer = '';
  private replies: Reply[] = [];
  private waiters: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = [];
  private pendingLines: string[] = [];
  closed = false;
  private closeWaiters: (() => void)[] = [];

  private constructor(private socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  /**
   * Connects and reads the greeting. `tls`: implicit TLS (the certificate is not checked).
   * `localAddress`: another loopback address (127.0.0.2, ...), for per-address limits.
   */
  static async connect(address: string, options: { tls?: boolean; localAddress?: string } = {}): Promise<{ client: SmtpClient; greeting: Reply }> {
    const [host, port] = splitAddress(address);
    const { localAddress } = options;
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = options.tls
        ? tlsConnect({ socket: netConnect({ host, port, localAddress }), rejectUnauthorized: false }, () => resolve(s))
        : netConnect({ host, port, localAddress }, () => resolve(s));
      s.once('error', reject);
    });
    const client = new SmtpClient(socket);
    const greeting = await client.read();
    return { client, greeting };
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('connection closed'));
      for (const waiter of this.closeWaiters.splice(0)) waiter();
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '');
      this.buffer = this.buffer.slice(newline + 1);
      this.pendingLines.push(line);
      if (/^\d{3}-/.test(line)) continue;
      const lines = this.pendingLines.splice(0);
      const code = Number(line.slice(0, 3));
      const texts = lines.map((entry) => entry.slice(4));
      const enhanced = /^([245]\.\d{1,3}\.\d{1,3})(?: |$)/.exec(texts.at(-1) ?? '')?.[1] ?? null;
      const reply: Reply = { code, enhanced, lines: texts, text: lines.join('\n') };
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(reply);
      else this.replies.push(reply);
    }
  }

  /** The next reply (waits for it). */
  read(timeoutMs = 10_000): Promise<Reply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.waiters.findIndex((waiter) => waiter.resolve === done);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`no SMTP reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (reply: Reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.waiters.push({
        resolve: done,
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Writes a string as UTF-8, or raw bytes (no line end added). */
  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** Sends one command line and reads its reply. */
  async command(line: string, timeoutMs?: number): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.read(timeoutMs);
  }

  /** STARTTLS, then the TLS handshake on the same socket (certificate not checked). */
  async startTls(): Promise<Reply> {
    const reply = await this.command('STARTTLS');
    if (reply.code !== 220) return reply;
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return reply;
  }

  /** DATA, the message (dot-stuffed, ended with CRLF.CRLF), and the final reply. */
  async data(message: string | Buffer, timeoutMs?: number): Promise<{ start: Reply; end: Reply | null }> {
    const start = await this.command('DATA');
    if (start.code !== 354) return { start, end: null };
    this.write(dotStuff(message));
    this.write(Buffer.from('.\r\n'));
    return { start, end: await this.read(timeoutMs) };
  }

  /** Resolves once the server closed the connection (or after timeoutMs: false). */
  waitClosed(timeoutMs = 10_000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export function dotStuff(message: string | Buffer): Buffer {
  let text = (typeof message === 'string' ? Buffer.from(message, 'utf8') : message).toString('latin1');
  text = text.replace(/\r?\n/g, '\r\n');
  if (!text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(text.replace(/^\./gm, '..'), 'latin1');
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/** AUTH PLAIN's initial response for a username and password (RFC 4616). */
export function plainToken(username: string, password: string): string {
  return Buffer.from(`\0${username}\0${password}`, 'utf8').toString('base64');
}
