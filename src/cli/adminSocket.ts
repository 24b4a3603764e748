import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ADMIN_COMMANDS } from './adminCommands.js';
import type { CliOutput } from './output.js';

/**
 * The admin socket: while a server holds an embedded (PGlite) data directory, admin commands run
 * inside it. The socket lives in the data directory with mode 0600: as with PostgreSQL's socket,
 * the file system's permissions are the credential (whoever may open it may open the data
 * directory's files too). One request per connection, one JSON line:
 *   {"argv": [...], "password": string|null, "user": string}
 * answered by JSON lines {"out": line} / {"err": line}, then {"exit": code}.
 */
export interface AdminRequest {
  argv: string[];
  password: string | null;
  user: string;
}

export type AdminRunner = (request: AdminRequest, out: CliOutput) => Promise<number>;

/** A command line is small: anything bigger is not one. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** The request must arrive this quickly after connecting (a client that sends nothing holds nothing for long). */
export const REQUEST_TIMEOUT_MS = 5_000;

export function adminSocketPath(dataDir: string): string {
  return join(dataDir, 'admin.sock');
}

/** The request, checked; or why it is refused. */
export function parseRequest(line: string): AdminRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'the request is not JSON';
  }
  const { argv, password, user } = (value ?? {}) as Record<string, unknown>;
  if (!Array.isArray(argv) || argv.length === 0 || argv.length > 64 || !argv.every((arg): arg is string => typeof arg === 'string' && arg.length <= 4096)) {
    return 'argv must be an array of 1 to 64 strings';
  }
  if (!ADMIN_COMMANDS.has(argv[0]!)) return `"${argv[0]}" is not an admin command (${[...ADMIN_COMMANDS].join(', ')})`;
  if (password !== null && password !== undefined && typeof password !== 'string') return 'password must be a string or null';
  return { argv, password: typeof password === 'string' ? password : null, user: typeof user === 'string' && user.length <= 64 ? user : 'unknown' };
}

export interface AdminSocketServer {
  path: string;
  close(): Promise<void>;
}

/** Listens on `path` (created 0600, a stale file from a killed server replaced: the data directory's lock says it is ours). */
export async function startAdminSocket(path: string, run: AdminRunner, onError: (error: unknown) => void): Promise<AdminSocketServer> {
  rmSync(path, { force: true });
  const connections = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serve(socket, run, onError);
  });
  // The umask makes the socket 0600 from its creation; the chmod is for file systems that ignore it.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function serve(socket: Socket, run: AdminRunner, onError: (error: unknown) => void): void {
  let buffered = '';
  let started = false;
  const send = (message: object) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
  };
  const refuse = (reason: string, code: number) => {
    send({ err: `mailroom: ${reason}` });
    send({ exit: code });
    socket.end();
  };
  socket.setEncoding('utf8');
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => {
    if (!started) refuse(`no request within ${REQUEST_TIMEOUT_MS / 1000} s`, 2);
  });
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    if (started) return;
    buffered += chunk;
    const end = buffered.indexOf('\n');
    if (Buffer.byteLength(end < 0 ? buffered : buffered.slice(0, end)) > MAX_REQUEST_BYTES) {
      started = true;
      return refuse(`the request is over ${MAX_REQUEST_BYTES} bytes`, 2);
    }
    if (end < 0) return;
    started = true;
    socket.setTimeout(0);
    const request = parseRequest(buffered.slice(0, end));
    if (typeof request === 'string') return refuse(request, 2);
    run(request, { out: (line) => send({ out: line }), err: (line) => send({ err: line }), result: () => {} }).then(
      (code) => {
        send({ exit: code });
        socket.end();
      },
      (error: unknown) => {
        onError(error);
        refuse((error as Error).message, 1);
      },
    );
  });
}

/**
 * Sends a command line to the server's admin socket and copies its answer to `out`; resolves
 * with the exit code, or null when no server listens there (no socket, or a stale one).
 */
export function requestOverSocket(path: string, request: AdminRequest, out: CliOutput): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let connected = false;
    let buffered = '';
    let exit: number | null = null;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffered.slice(0, end)) as { out?: string; err?: string; exit?: number };
        buffered = buffered.slice(end + 1);
        if (typeof message.out === 'string') out.out(message.out);
        if (typeof message.err === 'string') out.err(message.err);
        if (typeof message.exit === 'number') exit = message.exit;
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'ENOTSOCK')) resolve(null);
      else reject(error);
    });
    socket.on('close', () => {
      if (!connected) return;
      if (exit === null) {
        out.err('mailroom: the server closed the admin socket before the command finished');
        resolve(1);
      } else resolve(exit);
    });
  });
}
