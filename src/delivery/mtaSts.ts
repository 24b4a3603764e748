import { Resolver } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { domainToASCII } from 'node:url';
import { Agent, request } from 'undici';
import type { Logger } from '../shared/log.js';
import { LoadingCache } from '../shared/loadingCache.js';
import { trustedCa } from './smtpEngine.js';

/**
 * MTA-STS (RFC 8461), the sending side: a recipient domain publishes `_mta-sts.<domain>` TXT
 * (`v=STSv1; id=...`) and a policy at https://mta-sts.<domain>/.well-known/mta-sts.txt naming
 * the MX hosts that may receive its mail and whether TLS that verifies is required (`enforce`).
 *
 * Written here rather than taken from npm: the one maintained client, mailauth's
 * lib/mta-sts.js (a dependency already), fetches from port 443 only and with Node's roots only
 * (no MAILROOM_OUTBOUND_CA_FILE), reads a body of any size without checking its type, and lets
 * `*.example.com` match any depth of names (RFC 8461 section 4.1 allows one label); other
 * packages open SMTP connections themselves (mx-connect) or only check domains.
 */

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  mode: StsMode;
  /** MX host patterns, lower case: a host name, or `*.` and a name for one more label. */
  mx: string[];
  /** Seconds the policy may be cached, capped at RFC 8461's 31557600 (a year). */
  maxAgeSeconds: number;
}

/** A policy with the id of the TXT record it was fetched under. */
export interface AppliedPolicy extends StsPolicy {
  id: string;
}

export interface MtaStsOptions {
  /** MAILROOM_DNS_SERVERS: the TXT record and the policy host are looked up where MX hosts are. */
  dnsServers: readonly string[];
  /** MAILROOM_MTA_STS_PORT: 443 but in tests. */
  port: number;
  /** MAILROOM_OUTBOUND_CA_FILE's certificates, trusted beside Node's roots. */
  extraCa?: string;
  log?: Logger;
  timeoutMs?: number;
  now?: () => number;
}

const MAX_AGE_CAP_SECONDS = 31_557_600;
/** RFC 8461 leaves the size to senders; 64 KB is what others use (a policy is a few lines). */
const MAX_POLICY_BYTES = 64 * 1024;
const FETCH_TIMEOUT_MS = 5_000;
/** How long a TXT answer is kept: as long as an MX answer (mxResolver.ts), so a message costs no look-up. */
const RECORD_TTL_MS = 5 * 60_000;
/** RFC 8461 section 3.3: after a failed fetch, no new try for the same id for five minutes or more. */
const FETCH_FAILURE_MEMORY_MS = 5 * 60_000;
const MAX_DOMAINS = 50_000;

type RecordAnswer = { kind: 'id'; id: string } | { kind: 'none' } | { kind: 'failed' };
type FetchResult = { kind: 'policy'; policy: StsPolicy } | { kind: 'failed' };

/**
 * The policy that applies to a recipient domain, or null (deliver as without MTA-STS). Policies
 * are cached until max_age and refetched when the TXT id changes (RFC 8461 section 5.1); a
 * domain whose TXT record is gone, or whose new policy cannot be fetched, keeps its unexpired
 * cached policy, since an attacker who can block DNS or HTTPS must not be able to switch it off.
 * Never throws: every failure means "no policy" unless one is cached.
 */
export class MtaStsResolver {
  private readonly resolver: Resolver;
  private readonly agent: Agent;
  private readonly now: () => number;
  private readonly records: LoadingCache<string, RecordAnswer>;
  /** Keyed by domain and id: concurrent deliveries share one fetch, and a failure is not retried at once. */
  private readonly fetches: LoadingCache<string, FetchResult>;
  private readonly policies = new Map<string, { policy: AppliedPolicy; expiresAt: number }>();

  constructor(private readonly options: MtaStsOptions) {
    const timeoutMs = options.timeoutMs ?? FETCH_TIMEOUT_MS;
    // Built as mxResolver.ts builds its resolver: c-ares pointed at the operator's servers.
    this.resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
    if (options.dnsServers.length > 0) this.resolver.setServers([...options.dnsServers]);
    this.now = options.now ?? Date.now;
    this.records = new LoadingCache({ ttlMs: (answer) => (answer.kind === 'failed' ? 0 : RECORD_TTL_MS), maxEntries: MAX_DOMAINS, now: this.now });
    this.fetches = new LoadingCache({ ttlMs: (result) => (result.kind === 'failed' ? FETCH_FAILURE_MEMORY_MS : 0), maxEntries: MAX_DOMAINS, now: this.now });
    // No redirects (RFC 8461 section 3.3): undici's request() never follows them.
    this.agent = new Agent({
      connect: { ...trustedCa(options.extraCa), lookup: lookupThrough(this.resolver), timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  async policyFor(recipientDomain: string): Promise<AppliedPolicy | null> {
    const domain = policyDomain(recipientDomain);
    if (!domain) return null;
    const record = await this.records.get(domain, () => this.lookupRecord(domain));
    const cached = this.cached(domain);
    if (record.kind !== 'id' || cached?.id === record.id) return cached;
    const fetched = await this.fetches.get(`${domain} ${record.id}`, () => this.fetch(domain, record.id));
    if (fetched.kind === 'failed') return cached;
    const policy = { ...fetched.policy, id: record.id };
    if (this.policies.size >= MAX_DOMAINS) this.policies.clear();
    this.policies.set(domain, { policy, expiresAt: this.now() + policy.maxAgeSeconds * 1000 });
    return policy;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private cached(domain: string): AppliedPolicy | null {
    const entry = this.policies.get(domain);
    if (!entry) return null;
    if (entry.expiresAt > this.now()) return entry.policy;
    this.policies.delete(domain);
    return null;
  }

  private async lookupRecord(domain: string): Promise<RecordAnswer> {
    try {
      const id = parseStsRecord(await this.resolver.resolveTxt(`_mta-sts.${domain}`));
      return id === null ? { kind: 'none' } : { kind: 'id', id };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOTFOUND' || code === 'ENODATA' ? { kind: 'none' } : { kind: 'failed' };
    }
  }

  private async fetch(domain: string, id: string): Promise<FetchResult> {
    const port = this.options.port === 443 ? '' : `:${this.options.port}`;
    const url = `https://mta-sts.${domain}${port}/.well-known/mta-sts.txt`;
    try {
      return { kind: 'policy', policy: parsePolicy(await this.download(url)) };
    } catch (error) {
      // Names the domain and why, never an address. Logged once per id and five minutes.
      this.options.log?.warn({ domain, policyId: id, error: (error as Error).message }, 'MTA-STS policy fetch failed; delivering as without a policy unless one is cached');
      return { kind: 'failed' };
    }
  }

  private async download(url: string): Promise<string> {
    const timeoutMs = this.options.timeoutMs ?? FETCH_TIMEOUT_MS;
    const response = await request(url, { dispatcher: this.agent, signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/plain' } });
    // Destroying a body not read to its end reports an abort: expected here, not an error.
    response.body.on('error', () => undefined);
    try {
      if (response.statusCode !== 200) throw new Error(`HTTP status ${response.statusCode}`);
      // RFC 8461 section 3.3: text/plain only, lest a user-uploaded file on the host pass as a policy.
      const type = String(response.headers['content-type'] ?? '');
      if (!/^text\/plain\s*(;|$)/i.test(type)) throw new Error(`content type "${type.slice(0, 60)}" is not text/plain`);
      return await readCapped(response.body, MAX_POLICY_BYTES);
    } finally {
      response.body.destroy();
    }
  }
}

/** ASCII form of a recipient domain; null for an address literal, which has no policy. */
function policyDomain(recipientDomain: string): string | null {
  const bare = recipientDomain.toLowerCase().replace(/\.$/, '');
  if (bare.startsWith('[') || isIP(bare)) return null;
  return domainToASCII(bare) || null;
}

async function readCapped(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new Error(`policy larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * undici connects through net, whose look-up is the system's; the policy host must be found
 * through MAILROOM_DNS_SERVERS like the MX hosts (and, in tests, through the test's DNS server).
 */
function lookupThrough(resolver: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    void resolveAddresses(resolver, hostname, options.family).then(
      (addresses) => {
        const [first] = addresses;
        if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
        if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

async function resolveAddresses(resolver: Resolver, hostname: string, family: LookupOptions['family']): Promise<LookupAddress[]> {
  const wanted = family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : family;
  const [v4, v6] = await Promise.allSettled([wanted === 6 ? [] : resolver.resolve4(hostname), wanted === 4 ? [] : resolver.resolve6(hostname)]);
  if (v4.status === 'rejected' && v6.status === 'rejected') throw v4.reason;
  return [
    ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
  ];
}

/**
 * The id of a domain's `_mta-sts` TXT records (RFC 8461 section 3.1), or null for no usable
 * record: records not starting with `v=STSv1` are ignored, and anything but exactly one
 * remaining, syntactically valid record means no policy. A record's strings are joined.
 */
export function parseStsRecord(records: readonly (readonly string[])[]): string | null {
  const candidates = records.map((strings) => strings.join('')).filter((text) => /^v=STSv1[ \t]*(;|$)/.test(text));
  if (candidates.length !== 1) return null;
  let id: string | null = null;
  for (const field of candidates[0]!.split(';').map((part) => part.trim()).slice(1)) {
    if (field === '') continue;
    const match = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})=([\x21-\x3a\x3c\x3e-\x7e]+)$/.exec(field);
    if (!match) return null;
    if (match[1] === 'id' && id === null) {
      if (!/^[A-Za-z0-9]{1,32}$/.test(match[2]!)) return null;
      id = match[2]!;
    }
  }
  return id;
}

/**
 * Parses a policy file (RFC 8461 section 3.2): `key: value` lines ended by CRLF or LF; unknown
 * keys ignored; `mx` may repeat, other keys count at their first occurrence. Throws with the
 * reason when the policy is invalid (which means no policy).
 */
export function parsePolicy(text: string): StsPolicy {
  const fields = new Map<string, string>();
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const match = /^([A-Za-z0-9_.-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!match) throw new Error(`malformed line "${line.slice(0, 40)}"`);
    const key = match[1]!;
    const value = match[2]!;
    if (key === 'mx') mx.push(mxPattern(value));
    else if (!fields.has(key)) fields.set(key, value);
  }
  if (fields.get('version') !== 'STSv1') throw new Error('version STSv1 missing');
  const mode = fields.get('mode');
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') throw new Error(`mode "${mode ?? ''}" is not enforce, testing or none`);
  const maxAge = fields.get('max_age') ?? '';
  if (!/^\d{1,10}$/.test(maxAge)) throw new Error(`max_age "${maxAge}" is not a number of seconds`);
  if (mode !== 'none' && mx.length === 0) throw new Error('no mx pattern');
  return { mode, mx, maxAgeSeconds: Math.min(Number(maxAge), MAX_AGE_CAP_SECONDS) };
}

function mxPattern(value: string): string {
  const pattern = value.toLowerCase().replace(/\.$/, '');
  if (!/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(pattern)) throw new Error(`mx "${value.slice(0, 60)}" is not a host name or *.name`);
  return pattern;
}

/**
 * Whether an MX host is one the policy names (RFC 8461 section 4.1): equal names, or `*.` standing
 * for exactly one left-most label (`*.example.com` matches mail.example.com, neither
 * example.com nor a.b.example.com).
 */
export function mxMatches(patterns: readonly string[], host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  const parent = name.slice(name.indexOf('.') + 1);
  return patterns.some((pattern) => (pattern.startsWith('*.') ? name.includes('.') && parent === pattern.slice(2) : pattern === name));
}
