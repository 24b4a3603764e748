import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onCleanup } from './cleanup.js';
import { freePort, startChild } from './processes.js';

/**
 * A private Postfix instance (its own config, queue and data directories under /tmp, its own
 * master) that relays everything to one smarthost: the reference MTA of the delivery benchmark.
 *
 * Mail is queued with delivery held: smtpd answers every client with the access action HOLD
 * (`smtpd_client_restrictions = check_client_access static:HOLD`), so cleanup writes each message
 * straight into the hold queue and the queue manager never sees it. `release()` moves them all to
 * the deferred queue (`postsuper -H ALL`) and asks for a queue run (`postqueue -f`): from then on
 * Postfix, like Mailroom's worker, delivers a queue that already exists. It does not DKIM-sign
 * (that would need an OpenDKIM milter): the comparison favours it.
 */
export interface PostfixInstance {
  smtpdPort: number;
  /** The master process (its daemons are its children). */
  masterPid(): number;
  /** Sends `count` messages with smtp-source over `sessions` parallel sessions. */
  inject(messageFile: string, count: number, sessions: number, from: string, to: string): Promise<void>;
  /** Messages in each queue (files on disk: postqueue's listing of 50,000 entries is too slow to poll). */
  queueFiles(): Record<PostfixQueue, number>;
  release(): void;
  /** Lines of its log with status=sent and with other delivery statuses. */
  deliveryLog(): { sent: number; other: number; sample: string[] };
  stop(): Promise<void>;
}

const SBIN = '/usr/sbin';
export const POSTFIX_QUEUES = ['maildrop', 'incoming', 'active', 'deferred', 'hold'] as const;
export type PostfixQueue = (typeof POSTFIX_QUEUES)[number];

export function postfixVersion(): string {
  return execFileSync(`${SBIN}/postconf`, ['-d', '-h', 'mail_version'], { encoding: 'utf8' }).trim();
}

export function mainCf(dir: string, relayPort: number, concurrency: number): Record<string, string> {
  return {
    compatibility_level: '3.6',
    queue_directory: join(dir, 'spool'),
    data_directory: join(dir, 'lib'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: 'postfix.bench.test',
    mydomain: 'bench.test',
    myorigin: '$myhostname',
    mydestination: '',
    inet_interfaces: 'loopback-only',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    relayhost: `[127.0.0.1]:${relayPort}`,
    // Every message is held on arrival; the relay check still applies after it.
    smtpd_client_restrictions: 'check_client_access static:HOLD',
    smtpd_relay_restrictions: 'permit_mynetworks, reject',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    local_transport: 'error:local delivery is disabled',
    biff: 'no',
    smtp_tls_security_level: 'none',
    smtpd_tls_security_level: 'none',
    // One destination (the relayhost) with as many parallel deliveries as Mailroom has, from the start.
    default_process_limit: String(concurrency + 50),
    default_destination_concurrency_limit: String(concurrency),
    smtp_destination_concurrency_limit: String(concurrency),
    initial_destination_concurrency: String(concurrency),
    smtpd_client_connection_count_limit: '0',
    smtpd_client_message_rate_limit: '0',
    in_flow_delay: '0s',
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
  };
}

const MASTER_CF = (smtpdPort: number) => [
  `127.0.0.1:${smtpdPort} inet n - n - - smtpd`,
  'pickup unix n - n 60 1 pickup',
  'cleanup unix n - n - 0 cleanup',
  'qmgr unix n - n 300 1 qmgr',
  'rewrite unix - - n - - trivial-rewrite',
  'bounce unix - - n - 0 bounce',
  'defer unix - - n - 0 bounce',
  'trace unix - - n - 0 bounce',
  'verify unix - - n - 1 verify',
  'flush unix n - n 1000? 0 flush',
  'proxymap unix - - n - - proxymap',
  'smtp unix - - n - - smtp',
  'relay unix - - n - - smtp',
  'showq unix n - n - - showq',
  'error unix - - n - - error',
  'retry unix - - n - - error',
  'discard unix - - n - - discard',
  'anvil unix - - n - 1 anvil',
  'scache unix - - n - 1 scache',
  'postlog unix-dgram n - n - 1 postlogd',
];

export async function startPostfix(relayPort: number, concurrency: number): Promise<PostfixInstance> {
  for (const tool of ['postfix', 'postconf', 'postsuper', 'postqueue', 'smtp-source']) {
    if (!existsSync(`${SBIN}/${tool}`)) throw new Error(`${SBIN}/${tool} is missing: apt-get install postfix`);
  }
  if (process.getuid?.() !== 0) throw new Error('the Postfix reference must run as root (its master starts its daemons as the postfix user)');
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-postfix-'));
  // The daemons run as the postfix user, which must reach the queue and data directories.
  chmodSync(dir, 0o755);
  const etc = join(dir, 'etc');
  for (const sub of [etc, join(dir, 'spool'), join(dir, 'lib')]) mkdirSync(sub, { recursive: true });
  const run = (tool: string, args: string[]) => execFileSync(`${SBIN}/${tool}`, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const spool = join(dir, 'spool');
  const masterPid = () => Number(readFileSync(join(spool, 'pid', 'master.pid'), 'utf8').trim());
  // Synchronous on purpose: on Ctrl-C the process exits as soon as the cleanups have returned.
  const stop = onCleanup(() => {
    let pid = 0;
    try {
      pid = masterPid();
      run('postfix', ['-c', etc, 'stop']);
    } catch {
      // Never started or already stopped.
    }
    for (let i = 0; pid > 0 && i < 100 && existsSync(`/proc/${pid}`); i++) sleepSync(100);
    rmSync(dir, { recursive: true, force: true });
  });

  const smtpdPort = await freePort();
  writeFileSync(join(etc, 'main.cf'), Object.entries(mainCf(dir, relayPort, concurrency)).map(([key, value]) => `${key} = ${value}`).join('\n') + '\n');
  writeFileSync(join(etc, 'master.cf'), MASTER_CF(smtpdPort).join('\n') + '\n');
  // The data directory (master.lock, caches) belongs to mail_owner; `check` creates the queue
  // directories with the ownership and modes the daemons need.
  execFileSync('chown', ['postfix', join(dir, 'lib')]);
  run('postfix', ['-c', etc, 'check']);
  run('postfix', ['-c', etc, 'start']);
  await waitForPort(smtpdPort);

  const queueFiles = () => {
    const counts = { maildrop: 0, incoming: 0, active: 0, deferred: 0, hold: 0 };
    for (const queue of POSTFIX_QUEUES) {
      try {
        counts[queue] = readdirSync(join(spool, queue), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
      } catch {
        // Not created yet.
      }
    }
    return counts;
  };

  return {
    smtpdPort,
    masterPid,
    async inject(messageFile, count, sessions, from, to) {
      // -d: several messages per session; -N: a distinct recipient per message (1customer@..., 2customer@...).
      const args = ['-d', '-N', '-s', String(sessions), '-m', String(count), '-F', messageFile, '-f', from, '-t', to, `127.0.0.1:${smtpdPort}`];
      const source = startChild('smtp-source', `${SBIN}/smtp-source`, args, { cwd: dir, env: process.env });
      const exit = await source.exited;
      await source.stop();
      if (exit.code !== 0) throw new Error(`smtp-source exited with code ${exit.code} (signal ${exit.signal}).\n${source.describeOutput()}`);
    },
    queueFiles,
    release() {
      run('postsuper', ['-c', etc, '-H', 'ALL']);
      run('postqueue', ['-c', etc, '-f']);
    },
    deliveryLog() {
      let log = '';
      try {
        log = readFileSync(join(dir, 'maillog'), 'utf8');
      } catch {
        // No log written.
      }
      let sent = 0;
      let other = 0;
      const sample: string[] = [];
      for (const line of log.split('\n')) {
        if (!line.includes(' status=')) continue;
        if (line.includes(' status=sent ')) sent++;
        else {
          other++;
          if (sample.length < 3) sample.push(line);
        }
      }
      return { sent, other, sample };
    },
    stop,
  };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`Postfix's smtpd did not listen on 127.0.0.1:${port} within 10 s`);
}
