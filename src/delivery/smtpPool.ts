import SMTPConnection, { type SMTPConnectionOptions, type SMTPConnectionSendInfo } from 'nodemailer/lib/smtp-connection';

/**
 * Reusable connections to one SMTP host, on Nodemailer's SMTPConnection (which speaks the
 * protocol: greeting, EHLO, STARTTLS, AUTH, PIPELINING, dot-stuffing, reply parsing).
 *
 * Why our own pool rather than Nodemailer's `pool: true` transport: that transport takes every
 * message through the Mailer layer (plugins, a MailMessage, a MimeNode even for raw bytes, and a
 * stream pipeline), which cost about 180-240 µs of CPU per message against 60 µs for
 * SMTPConnection.send alone (measured against smtp-sink on loopback). At thousands of messages a
 * second that difference is most of a core.
 */
export interface HostPoolOptions {
  connection: SMTPConnectionOptions;
  auth?: { user: string; pass: string };
  maxConnections: number;
  /** Transactions per connection before it is closed and a new one opened. */
  maxMessagesPerConnection: number;
  /** An idle connection is closed after this long (servers drop idle sessions themselves). */
  idleMs: number;
}

/** What Nodemailer puts on its errors; the engine classifies by these. */
export interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

export interface SendResult {
  info: SMTPConnectionSendInfo;
  /** True when the connection was protected by TLS (implicit or STARTTLS). */
  secure: boolean;
}

interface PooledConnection {
  smtp: SMTPConnection;
  transactions: number;
  idleTimer: NodeJS.Timeout | null;
  closed: boolean;
  /** The last accepted transaction's result, until it is recorded (see RecordGate). */
  unrecorded: RecordGate | null;
}

/**
 * The duplicate window. Between the server's 250 for a message and the commit of that result, a
 * crash means the message is sent again. Each connection therefore holds the final dot of its
 * next transaction (everything before it is already sent) until the previous result is
 * recorded: after a crash at most one message per connection is delivered and unrecorded, which
 * no sender can avoid (the receiver has the message before the sender hears so). Usually the
 * commit is done before the next body is written and nothing waits.
 */
interface RecordGate {
  done: boolean;
  promise: Promise<void>;
}

/**
 * A stalled database must not stall delivery until the servers' DATA time-outs (RFC 5321: 10
 * minutes for the final dot): after this long the dot goes anyway.
 */
const MAX_RECORD_WAIT_MS = 10_000;

function recordGate(recorded: Promise<void>): RecordGate {
  const gate: RecordGate = { done: false, promise: recorded };
  gate.promise = recorded.then(() => {
    gate.done = true;
  }, () => {
    gate.done = true;
  });
  return gate;
}

function afterRecorded(gate: RecordGate | null, then: () => void): void {
  if (!gate || gate.done) return then();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    try {
      then();
    } catch {
      // The connection failed meanwhile and its send was rejected already; a throw here would be
      // an unhandled rejection, which ends the process.
    }
  };
  const timer = setTimeout(finish, MAX_RECORD_WAIT_MS);
  void gate.promise.then(finish);
}

interface Waiter {
  resolve(connection: PooledConnection): void;
  reject(error: SmtpError): void;
}

export class HostPool {
  private readonly idle: PooledConnection[] = [];
  /** Every connection not yet discarded: idle, busy or connecting. */
  private readonly live = new Set<PooledConnection>();
  private readonly waiters: Waiter[] = [];
  /** Connections connecting, busy or idle. */
  private open = 0;
  private closed = false;
  lastUsedAt = Date.now();

  constructor(private readonly options: HostPoolOptions) {}

  /** Connections in use or idle, for tests and metrics. */
  get size(): number {
    return this.open;
  }

  /**
   * Sends one transaction. Rejects with Nodemailer's error when the server refused it or the
   * connection failed. A reused connection that turns out to be dead before the server accepted
   * DATA (the server dropped it while idle) is replaced once: nothing was sent on it yet.
   */
  async send(envelope: { from: string; to: string[] }, raw: Buffer, recorded?: Promise<void>): Promise<SendResult> {
    this.lastUsedAt = Date.now();
    const connection = await this.acquire();
    const reused = connection.transactions > 0;
    try {
      return await this.transact(connection, envelope, raw, recorded);
    } catch (caught) {
      const failure = caught as SmtpError & { beforeData?: boolean };
      if (reused && failure.beforeData && isConnectionFailure(failure) && !this.closed) {
        const fresh = await this.acquire(true);
        return this.transact(fresh, envelope, raw, recorded);
      }
      throw failure;
    }
  }

  /**
   * Closes every connection: idle ones with QUIT, busy ones at once (at shutdown, after the
   * grace period, a stalled server must not hold the process for its time-out). Their sends
   * and the waiting ones fail.
   */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(poolClosed());
    const idle = new Set(this.idle);
    for (const connection of [...this.live]) this.discard(connection, idle.has(connection));
  }

  private transact(connection: PooledConnection, envelope: { from: string; to: string[] }, raw: Buffer, recorded: Promise<void> | undefined): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      let dataStarted = false;
      // SMTPConnection pipes a stream-like message only once the server has answered DATA with
      // 354; a plain object that writes the buffer when piped tells us that moment at no cost
      // (a real Readable around the buffer would cost a stream per message).
      const message = {
        on: () => message,
        pipe: (target: NodeJS.WritableStream) => {
          dataStarted = true;
          target.write(raw);
          // Ending the stream sends the final dot: not before the last result here is recorded.
          afterRecorded(connection.unrecorded, () => target.end());
          return target;
        },
      };
      const smtp = connection.smtp;
      smtp.send({ from: envelope.from, to: envelope.to, size: raw.length }, message as unknown as Buffer, (error, info) => {
        connection.transactions++;
        if (!error && info) {
          // A refused transaction leaves the gate as it was: nothing new was delivered.
          connection.unrecorded = recorded ? recordGate(recorded) : null;
          const secure = smtp.secure;
          this.release(connection);
          resolve({ info, secure });
          return;
        }
        const failure = (error ?? new Error('SMTP send failed')) as SmtpError & { beforeData?: boolean };
        failure.beforeData = !dataStarted;
        if ((failure.code === 'EENVELOPE' || failure.code === 'EMESSAGE') && failure.responseCode !== 421 && !connection.closed) {
          // The server refused this transaction; the session itself is fine. RSET and reuse it.
          smtp.reset((resetError) => {
            if (resetError) this.discard(connection, false);
            else this.release(connection);
          });
        } else {
          this.discard(connection, false);
        }
        reject(failure);
      });
    });
  }

  private acquire(fresh = false): Promise<PooledConnection> {
    if (this.closed) return Promise.reject(poolClosed());
    if (!fresh) {
      const connection = this.idle.pop();
      if (connection) {
        if (connection.idleTimer) clearTimeout(connection.idleTimer);
        connection.idleTimer = null;
        return Promise.resolve(connection);
      }
    }
    if (this.open < this.options.maxConnections || fresh) return this.connect();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private connect(): Promise<PooledConnection> {
    this.open++;
    const smtp = new SMTPConnection(this.options.connection);
    const connection: PooledConnection = { smtp, transactions: 0, idleTimer: null, closed: false, unrecorded: null };
    this.live.add(connection);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: SmtpError) => {
        if (settled) return;
        settled = true;
        this.discard(connection, false);
        reject(error);
      };
      // Errors outside a transaction (an idle connection timing out or reset) only end it.
      smtp.on('error', (error: SmtpError) => {
        if (!settled) fail(error);
        else this.discard(connection, false);
      });
      smtp.once('end', () => {
        if (!settled) fail(Object.assign(new Error('Connection closed before the session was ready'), { code: 'ECONNECTION' }));
        else this.discard(connection, false);
      });
      smtp.connect((error) => {
        if (error) return fail(error as SmtpError);
        const ready = () => {
          if (settled) return;
          settled = true;
          resolve(connection);
        };
        // As Nodemailer's own pool: credentials are offered only to a server that asks for them
        // (one that needs them refuses MAIL FROM with a reply the engine classifies).
        if (!this.options.auth || !smtp.allowsAuth) return ready();
        smtp.login({ user: this.options.auth.user, pass: this.options.auth.pass }, (loginError) => {
          if (loginError) fail(loginError as SmtpError);
          else ready();
        });
      });
    });
  }

  /** Hands a healthy connection to the next waiting send, or parks it as idle. */
  private release(connection: PooledConnection): void {
    if (connection.closed) return;
    if (this.closed || connection.transactions >= this.options.maxMessagesPerConnection) {
      this.discard(connection, true);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(connection);
      return;
    }
    connection.idleTimer = setTimeout(() => {
      const index = this.idle.indexOf(connection);
      if (index >= 0) this.idle.splice(index, 1);
      this.discard(connection, true);
    }, this.options.idleMs);
    connection.idleTimer.unref();
    this.idle.push(connection);
  }

  /** Ends a connection (QUIT when `polite`), and lets a waiting send open a new one. */
  private discard(connection: PooledConnection, polite: boolean): void {
    if (connection.closed) return;
    connection.closed = true;
    this.live.delete(connection);
    if (connection.idleTimer) clearTimeout(connection.idleTimer);
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    this.open--;
    try {
      if (polite) connection.smtp.quit();
      else connection.smtp.close();
    } catch {
      // Already closed.
    }
    const waiter = this.waiters.shift();
    // The slot is free: the next waiting send gets a new connection (or its failure).
    if (waiter && !this.closed) this.connect().then(waiter.resolve, waiter.reject);
    else if (waiter) waiter.reject(poolClosed());
  }
}

function poolClosed(): SmtpError {
  return Object.assign(new Error('SMTP connection pool closed'), { code: 'ECONNECTION' });
}

/** No reply was involved: the connection broke, timed out or was refused. */
function isConnectionFailure(error: SmtpError): boolean {
  return typeof error.responseCode !== 'number' && (error.code === 'ECONNECTION' || error.code === 'ESOCKET' || error.code === 'ETIMEDOUT');
}
