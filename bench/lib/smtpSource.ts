import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startChild, type Exit } from './processes.js';

/**
 * Postfix's `smtp-source` as a load generator: N messages over S parallel sessions, each session
 * keeping its connection for the next message (-d), one recipient per message with a sequence
 * number prepended (-N: 1rcpt@..., 2rcpt@...), so that every message has its own recipient.
 *
 * smtp-source speaks HELO (no ESMTP, no PIPELINING, no TLS) and waits for each reply; without
 * -A, any reply other than a 2xx/3xx where one is expected ends it with "fatal" and exit code 1,
 * so an exit code of 0 means every message's DATA was answered 250.
 */
export const SMTP_SOURCE = '/usr/sbin/smtp-source';

export interface SmtpSourceLoad {
  port: number;
  sessions: number;
  messages: number;
  /** Bytes of body smtp-source generates (-l); its header lines (From, To, Date, Message-Id, Subject) come on top. */
  size: number;
  from: string;
  to: string;
  subject: string;
}

export interface SmtpSourceRun {
  /** From the spawn to the exit (reaped). */
  seconds: number;
  /** CPU time smtp-source used (user+system), from the bench's reaped-children counters. */
  cpuSeconds: number;
  exit: Exit;
  /** What it printed on stdout and stderr (nothing, when all went well). */
  outputLines: number;
  output: string[];
  /** Empty when it exited 0 and printed nothing. */
  problems: string[];
}

const TICKS_PER_SECOND = 100; // USER_HZ

/**
 * CPU seconds of this process's children that have exited and been reaped (cutime + cstime of
 * /proc/self/stat): the only place a short-lived child's CPU time is left once it is gone.
 */
export function reapedChildrenCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is fields[0]; cutime and cstime (fields 16 and 17 of stat) are [13] and [14].
    return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export function smtpSourceArgs(load: SmtpSourceLoad, messages = load.messages): string[] {
  return [
    '-d',
    '-N',
    '-s', String(load.sessions),
    '-m', String(messages),
    '-l', String(load.size),
    '-f', load.from,
    '-t', load.to,
    '-S', load.subject,
    '-M', 'source.bench.test',
    `127.0.0.1:${load.port}`,
  ];
}

/** Runs smtp-source to completion; `messages` overrides the load's count (for a warm-up). */
export async function runSmtpSource(load: SmtpSourceLoad, messages = load.messages): Promise<SmtpSourceRun> {
  if (!existsSync(SMTP_SOURCE)) throw new Error(`${SMTP_SOURCE} is missing: apt-get install postfix`);
  const cpuBefore = reapedChildrenCpuSeconds();
  const started = performance.now();
  const source = startChild('smtp-source', SMTP_SOURCE, smtpSourceArgs(load, messages), { cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } });
  const exit = await source.exited;
  const seconds = (performance.now() - started) / 1000;
  // 'exit' is emitted once libuv has reaped the child: its CPU is in our cutime/cstime now.
  const cpuSeconds = reapedChildrenCpuSeconds() - cpuBefore;
  await source.stop();
  // Let the output pipes drain (they close after the exit is seen).
  await sleep(50);
  const { lines, tail } = source.output();
  const problems: string[] = [];
  if (exit.code !== 0) problems.push(`smtp-source exited with code ${exit.code} (signal ${exit.signal})${tail.length ? `: ${tail.slice(-3).join(' | ')}` : ''}`);
  else if (lines > 0) problems.push(`smtp-source printed ${lines} line(s): ${tail.slice(-3).join(' | ')}`);
  return { seconds, cpuSeconds, exit, outputLines: lines, output: tail, problems };
}

/**
 * Waits until an SMTP server on 127.0.0.1:`port` greets a new connection, then says QUIT.
 * Resolves with the greeting line, whatever its code (the caller decides whether a 4xx/5xx
 * greeting is fatal); rejects when nothing greets within `timeoutMs`.
 */
export async function smtpGreeting(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no connection';
  while (Date.now() < deadline) {
    try {
      return await greetOnce(port, Math.max(1000, Math.min(5000, deadline - Date.now())));
    } catch (error) {
      lastError = (error as Error).message;
      await sleep(100);
    }
  }
  throw new Error(`no SMTP greeting on 127.0.0.1:${port} within ${timeoutMs / 1000} s (${lastError})`);
}

function greetOnce(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let greeting: string | null = null;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(greeting === null ? 'no greeting' : 'no reply to QUIT'));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      if (greeting === null) reject(new Error('closed before greeting'));
      else resolve(greeting);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (greeting === null) {
          // The last line of a multi-line greeting has a space after the code.
          if (/^\d{3}-/.test(line)) continue;
          greeting = line;
          if (!line.startsWith('220')) return finish();
          socket.write('QUIT\r\n');
        } else if (/^\d{3} /.test(line)) {
          return finish();
        }
      }
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
    socket.once('close', () => {
      if (greeting !== null) finish();
    });
  });
}
