import { connect } from 'node:net';
import type { CliOptions } from '../options.js';
import { ApiClient, ClientError } from './http.js';

type Level = 'OK' | 'WARN' | 'FAIL';
interface Check { check: string; level: Level; detail: string }

interface DomainRecord { purpose: string; type: string; name: string; status: string; required: boolean; reason?: string }
interface DomainView { id: number; domain: string; status: string; verifiedBy: string | null; records: DomainRecord[] }

/** Clock skew past which signatures and expiring links start to misbehave. */
const SKEW_WARN_S = 5;
const SKEW_FAIL_S = 300;
const SMTP_TIMEOUT_MS = 3_000;

/** The first line an SMTP server says, or why there is none. */
function smtpGreeting(host: string, port: number): Promise<{ greeting: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    const done = (answer: { greeting: string } | { error: string }) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(SMTP_TIMEOUT_MS, () => done({ error: `no greeting within ${SMTP_TIMEOUT_MS / 1000} s` }));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\n')) done({ greeting: text.split(/\r?\n/)[0]! });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
  });
}

function domainCheck(view: DomainView): Check {
  const failing = view.records.filter((record) => record.required && record.status !== 'verified');
  const optional = view.records.filter((record) => !record.required && record.status !== 'verified' && record.status !== 'retiring');
  const named = (records: DomainRecord[]) => records.map((record) => `${record.purpose} ${record.type} ${record.name}: ${record.status}${record.reason ? ` (${record.reason})` : ''}`).join('; ');
  if (failing.length === 0) return { check: `domain ${view.domain}`, level: optional.length > 0 ? 'WARN' : 'OK', detail: optional.length > 0 ? `required records verified; ${named(optional)}` : 'every record verified' };
  // An administrator may have verified it by hand (a test domain, DNS elsewhere): it sends, but unsigned-looking mail is likelier spam.
  return { check: `domain ${view.domain}`, level: view.verifiedBy === 'admin' ? 'WARN' : 'FAIL', detail: `${view.status}${view.verifiedBy === 'admin' ? ' (by an admin)' : ''}; ${named(failing)}` };
}

/**
 * `mailroom doctor`: one line per check (OK, WARN, FAIL), exit 1 on any FAIL. It reads the
 * configuration as `mailroom start` would, then asks the running server: /healthz, /readyz (the
 * database as the server reaches it), its Date header (the clock), the SMTP port's greeting and,
 * with MAILROOM_API_KEY, a fresh DNS check of each domain.
 */
export async function doctorCommand(args: string[], options: CliOptions): Promise<number> {
  const checks: Check[] = [];
  const report = (check: Check) => {
    checks.push(check);
    if (!options.json) process.stdout.write(`${check.level.padEnd(4)}  ${check.check}: ${check.detail}\n`);
  };
  const { loadConfig } = await import('../../config/load.js');
  let config: ReturnType<typeof loadConfig> | null = null;
  try {
    config = loadConfig({ configFile: options.config ?? args[0] });
    report({ check: 'configuration', level: 'OK', detail: `loaded; database ${config.databaseUrl ? 'PostgreSQL' : `embedded in ${config.dataDir}`}, roles ${config.roles.join(',')}` });
  } catch (error) {
    report({ check: 'configuration', level: 'FAIL', detail: (error as Error).message });
  }
  const baseUrl = process.env.MAILROOM_URL || (config ? `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${config.httpPort}` : 'http://127.0.0.1:3000');
  const client = new ApiClient(baseUrl, process.env.MAILROOM_API_KEY || null);
  let serverUp = false;
  try {
    const sent = Date.now();
    const health = await client.request<unknown>('GET', '/healthz');
    const received = Date.now();
    serverUp = true;
    report({ check: 'HTTP', level: 'OK', detail: `${baseUrl} answers` });
    const date = health.headers.get('date');
    if (date) {
      // The Date header has whole seconds: compare with the middle of the round trip, allow one second.
      const skew = Math.abs(Date.parse(date) - (sent + received) / 2) / 1000;
      const level: Level = skew > SKEW_FAIL_S ? 'FAIL' : skew > SKEW_WARN_S ? 'WARN' : 'OK';
      report({ check: 'clock', level, detail: `${skew < 1.5 ? 'within a second of' : `${skew.toFixed(0)} s away from`} the server's` });
    }
  } catch (error) {
    report({ check: 'HTTP', level: 'FAIL', detail: (error as Error).message });
  }
  if (serverUp) {
    const ready = await client.request<{ status: string }>('GET', '/readyz', { accept: [503] });
    report({ check: 'database', level: ready.status === 200 ? 'OK' : 'FAIL', detail: ready.status === 200 ? 'reachable (the server\'s /readyz)' : ready.body.status });
  } else {
    report({ check: 'database', level: 'WARN', detail: 'not checked: the server does not answer' });
  }
  if (config) {
    const host = config.smtpHost === '0.0.0.0' || config.smtpHost === '::' ? '127.0.0.1' : config.smtpHost;
    const smtp = await smtpGreeting(host, config.smtpPort);
    if ('greeting' in smtp) report({ check: 'SMTP', level: smtp.greeting.startsWith('220') ? 'OK' : 'FAIL', detail: `${host}:${config.smtpPort} says "${smtp.greeting.slice(0, 80)}"` });
    else report({ check: 'SMTP', level: config.roles.includes('smtp') ? 'FAIL' : 'WARN', detail: `${host}:${config.smtpPort}: ${smtp.error}${config.roles.includes('smtp') ? '' : ' (the smtp role is not among MAILROOM_ROLES here)'}` });
  }
  if (serverUp && !process.env.MAILROOM_API_KEY) {
    report({ check: 'domains', level: 'WARN', detail: 'not checked: set MAILROOM_API_KEY' });
  } else if (serverUp) {
    try {
      const { body } = await client.request<{ data: DomainView[] }>('GET', '/domains');
      if (body.data.length === 0) report({ check: 'domains', level: 'WARN', detail: 'the account has no sending domain' });
      for (const domain of body.data) {
        const verified = await client.request<{ data: DomainView }>('POST', `/domains/${domain.id}/verify`);
        report(domainCheck(verified.body.data));
      }
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      report({ check: 'domains', level: 'FAIL', detail: error.message });
    }
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ ok: !checks.some((check) => check.level === 'FAIL'), checks })}\n`);
  return checks.some((check) => check.level === 'FAIL') ? 1 : 0;
}
