import { SMTPServer } from 'smtp-server';

/** One transaction as the server saw it. */
export interface Transaction {
  from: string;
  to: string[];
  raw: Buffer;
  secure: boolean;
}

export interface ScriptedOptions {
  /** Loopback address to bind (127.0.0.x: every one is this machine), so MX hosts can differ on one port. */
  host: string;
  port: number;
  /** Reply at RCPT for an address: null accepts. */
  rcpt?: (address: string) => [number, string] | null;
  /** What to do at the end of DATA: accept (default), refuse with a reply, drop the connection, or never answer. */
  data?: (transaction: Transaction) => 'accept' | 'drop' | 'stall' | [number, string];
  /** `off`: no STARTTLS; `ok`: STARTTLS with smtp-server's own self-signed certificate; `broken`: the handshake cannot succeed. */
  tls?: 'off' | 'ok' | 'broken';
  /** Delay before answering DATA (a slow receiver). */
  delayMs?: number;
}

/**
 * A real SMTP server (Nodemailer's smtp-server) that answers as a test scripts it, and counts
 * what a test needs to see: transactions, connections, and the most sessions open at once.
 */
export async function startScriptedSmtp(options: ScriptedOptions) {
  const transactions: Transaction[] = [];
  const stats = { connections: 0, open: 0, maxOpen: 0 };
  const tls = options.tls ?? 'off';
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: tls === 'off' ? ['STARTTLS', 'AUTH'] : ['AUTH'],
    // TLS 1.0 only: Node's client refuses it, so the handshake fails after "220 Ready to start TLS".
    ...(tls === 'broken' ? { minVersion: 'TLSv1' as const, maxVersion: 'TLSv1' as const } : {}),
    size: 50 * 1024 * 1024,
    // A stalled session never finishes by itself: close() gives up on it after a second.
    closeTimeout: 1_000,
    onConnect(_session, callback) {
      stats.connections++;
      stats.maxOpen = Math.max(stats.maxOpen, ++stats.open);
      callback();
    },
    onClose() {
      stats.open--;
    },
    onRcptTo(address, _session, callback) {
      const refusal = options.rcpt?.(address.address);
      if (!refusal) return callback();
      callback(Object.assign(new Error(refusal[1]), { responseCode: refusal[0] }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const transaction: Transaction = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
        };
        if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
        const action = options.data?.(transaction) ?? 'accept';
        if (action === 'stall') return;
        if (action === 'drop') {
          // The connection dies after the message was sent but before any reply: the sender must
          // retry. smtp-server does not expose the session's socket, so its open connections go.
          for (const connection of (server as unknown as { connections: Set<{ _socket: { destroy(): void } }> }).connections) connection._socket.destroy();
          return;
        }
        if (action !== 'accept') return callback(Object.assign(new Error(action[1]), { responseCode: action[0] }));
        transactions.push(transaction);
        callback(null, 'Ok: queued');
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    transactions,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
