import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { freePort } from './processes.js';

/**
 * A private Postfix instance (its own config, queue and data directories under /tmp) that relays
 * everything to one smarthost: the reference MTA of the delivery benchmark. Mail is first queued
 * with delivery held (`defer_transports = smtp`), then released with a flush, so that Postfix,
 * like Mailroom, delivers an existing queue. It does not DKIM-sign (that would need a milter):
 * the comparison favours it.
 */
export interface PostfixInstance {
  smtpdPort: number;
  release(): void;
  queueSize(): number;
  stop(): Promise<void>;
}

const POSTFIX = '/usr/sbin/postfix';

export async function startPostfix(relayPort: number, concurrency: number): Promise<PostfixInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-postfix-'));
  // Postfix's daemons run as the postfix user, which must reach the queue and data directories.
  chmodSync(dir, 0o755);
  const etc = join(dir, 'etc');
  execFileSync('mkdir', ['-p', etc, join(dir, 'spool'), join(dir, 'lib')]);
  const smtpdPort = await freePort();
  const main = {
    compatibility_level: '3.6',
    queue_directory: join(dir, 'spool'),
    data_directory: join(dir, 'lib'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: 'postfix.bench.test',
    mydestination: '',
    inet_interfaces: 'loopback-only',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    relayhost: `[127.0.0.1]:${relayPort}`,
    smtpd_relay_restrictions: 'permit_mynetworks, reject',
    alias_maps: '',
    alias_database: '',
    local_transport: 'error:local delivery is disabled',
    smtp_tls_security_level: 'none',
    smtpd_tls_security_level: 'none',
    default_process_limit: String(concurrency * 2),
    default_destination_concurrency_limit: String(concurrency),
    smtp_destination_concurrency_limit: String(concurrency),
    initial_destination_concurrency: String(concurrency),
    defer_transports: 'smtp',
    smtpd_client_connection_count_limit: '0',
    smtpd_client_message_rate_limit: '0',
    in_flow_delay: '0s',
    disable_dns_lookups: 'yes',
  };
  writeFileSync(join(etc, 'main.cf'), Object.entries(main).map(([key, value]) => `${key} = ${value}`).join('\n') + '\n');
  writeFileSync(join(etc, 'master.cf'), [
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
  ].join('\n') + '\n');
  const run = (command: string, args: string[]) => execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  run(POSTFIX, ['-c', etc, 'set-permissions']);
  run(POSTFIX, ['-c', etc, 'start']);
  const stop = onCleanup(() => {
    try {
      run(POSTFIX, ['-c', etc, 'stop']);
    } catch {
      // Already stopped.
    }
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${smtpdPort}`]);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    smtpdPort,
    release() {
      run('/usr/sbin/postconf', ['-c', etc, '-e', 'defer_transports =']);
      run(POSTFIX, ['-c', etc, 'reload']);
      run('/usr/sbin/postqueue', ['-c', etc, '-f']);
    },
    /** Queue files on disk (postqueue's listing of 50,000 entries is too slow to poll). */
    queueSize() {
      let files = 0;
      for (const queue of ['maildrop', 'incoming', 'active', 'deferred', 'hold']) {
        try {
          files += readdirSync(join(dir, 'spool', queue), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
        } catch {
          // Not created yet.
        }
      }
      return files;
    },
    stop,
  };
}
