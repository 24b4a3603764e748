import { Resolver } from 'node:dns/promises';
import { spf } from 'mailauth/lib/spf/index.js';
import type { ExpectedRecord, RecordCheck } from './records.js';
import type { DomainSettings } from './settings.js';

type Lookup<T> = { ok: true; value: T } | { ok: false; check: RecordCheck };

/** mailauth's resolver type names TXT and address answers only; it reads MX answers as Node gives them too. */
type MailauthResolver = (name: string, type: string) => Promise<string[][] | string[]>;

/** What a failed look-up means for the record: no such record, or no answer (the record's state unknown). */
export function dnsFailure(error: unknown, type: string, name: string): RecordCheck {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'ENOTFOUND':
    case 'ENODATA':
      return { status: 'missing', reason: `no ${type} record at ${name}` };
    case 'ETIMEOUT':
      return { status: 'error', reason: `DNS lookup timed out (${type} ${name})` };
    case 'ESERVFAIL':
      return { status: 'error', reason: `the DNS server failed to answer (SERVFAIL) for ${type} ${name}` };
    case 'EREFUSED':
      return { status: 'error', reason: `the DNS server refused the query for ${type} ${name}` };
    case 'ECONNREFUSED':
      return { status: 'error', reason: `the DNS server could not be reached for ${type} ${name}` };
    default:
      return { status: 'error', reason: `DNS lookup of ${type} ${name} failed (${code ?? (error as Error).message})` };
  }
}

/** `k=v; k=v` tags of a DKIM or DMARC record, names lower-cased. */
export function parseTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const equals = part.indexOf('=');
    if (equals > 0) tags.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
  }
  return tags;
}

function hostOf(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Checks a domain's records in DNS, through MAILROOM_DNS_SERVERS (Node's c-ares resolver, as the
 * MX resolver does: the system's lookup cannot be pointed at chosen servers). Each check says
 * verified, missing, wrong or error, with a reason a person can act on. SPF is evaluated for real
 * (mailauth) for each sending IP when MAILROOM_SENDING_IPS is set, so an include: chain or a
 * redirect counts as it does at a receiver; without IPs only the `a:<HELO name>` mechanism can be
 * looked for.
 */
export class DomainChecker {
  private readonly resolver: Resolver;
  private readonly spfResolver: MailauthResolver;

  constructor(private readonly settings: DomainSettings) {
    this.resolver = new Resolver({ timeout: settings.dnsTimeoutMs, tries: settings.dnsTries });
    if (settings.dnsServers.length > 0) this.resolver.setServers([...settings.dnsServers]);
    this.spfResolver = (name, type) => this.resolver.resolve(name, type) as Promise<string[][] | string[]>;
  }

  async check(record: ExpectedRecord): Promise<RecordCheck> {
    try {
      switch (record.purpose) {
        case 'dkim':
          return await this.dkim(record);
        case 'spf':
          return await this.spf(record);
        case 'return-path':
          return await this.mx(record);
        case 'dmarc':
          return await this.dmarc(record);
        case 'tracking':
          return await this.cname(record);
      }
    } catch (error) {
      // A bug or an answer no parser expected: the record's state is unknown, not broken.
      return { status: 'error', reason: `the check failed: ${(error as Error).message}` };
    }
  }

  private async lookup<T>(type: string, name: string, run: () => Promise<T>): Promise<Lookup<T>> {
    try {
      return { ok: true, value: await run() };
    } catch (error) {
      return { ok: false, check: dnsFailure(error, type, name) };
    }
  }

  /** TXT records, each one's strings joined (a key longer than 255 octets is split into several). */
  private async txt(name: string): Promise<Lookup<string[]>> {
    const found = await this.lookup('TXT', name, () => this.resolver.resolveTxt(name));
    return found.ok ? { ok: true, value: found.value.map((strings) => strings.join('')) } : found;
  }

  /** The p= key material is compared, not the text: tag order, spacing and folding vary between DNS providers. */
  private async dkim(record: ExpectedRecord): Promise<RecordCheck> {
    const expected = record.dkim!;
    const found = await this.txt(record.name);
    if (!found.ok) return found.check;
    const keys = found.value.map(parseTags).filter((tags) => tags.has('p') || /^dkim1$/i.test(tags.get('v') ?? ''));
    if (keys.length === 0) return { status: 'wrong', reason: `the TXT record at ${record.name} is not a DKIM key (no v=DKIM1, no p=)` };
    let revoked = false;
    let otherType: string | null = null;
    for (const tags of keys) {
      const p = (tags.get('p') ?? '').replace(/\s+/g, '');
      if (p === '') {
        revoked = true;
        continue;
      }
      if (!Buffer.from(p, 'base64').equals(expected.key)) continue;
      const type = (tags.get('k') ?? 'rsa').toLowerCase();
      if (type === expected.algorithm) return { status: 'verified' };
      otherType = type;
    }
    if (otherType) return { status: 'wrong', reason: `the record's key is this one but says k=${otherType}, not k=${expected.algorithm}` };
    if (revoked) return { status: 'wrong', reason: `the record's p= is empty (a revoked key)` };
    return { status: 'wrong', reason: `the record's p= is a different key` };
  }

  private async spf(record: ExpectedRecord): Promise<RecordCheck> {
    const found = await this.txt(record.name);
    if (!found.ok) return found.check.status === 'missing' ? { status: 'missing', reason: `no SPF record (TXT v=spf1) at ${record.name}` } : found.check;
    const spfRecords = found.value.filter((text) => /^v=spf1(\s|$)/i.test(text.trim()));
    if (spfRecords.length === 0) return { status: 'missing', reason: `no SPF record (TXT v=spf1) at ${record.name}` };
    if (spfRecords.length > 1) {
      return { status: 'wrong', reason: `${spfRecords.length} SPF records at ${record.name}: receivers treat that as an error (permerror); merge them into one` };
    }
    if (this.settings.sendingIps.length === 0) {
      const mechanism = `a:${this.settings.heloName}`;
      const terms = spfRecords[0]!.trim().toLowerCase().split(/\s+/).slice(1);
      if (terms.includes(mechanism) || terms.includes(`+${mechanism}`)) return { status: 'verified' };
      return { status: 'wrong', reason: `the SPF record at ${record.name} does not contain ${mechanism}: "${spfRecords[0]}"` };
    }
    // Evaluated as a receiver would for mail from each sending IP with this Return-Path domain.
    const sender = `postmaster@${record.name}`;
    const results = await Promise.all(this.settings.sendingIps.map(async (ip) => {
      const result = await spf({ sender, ip, helo: this.settings.heloName, mta: this.settings.heloName, resolver: this.spfResolver });
      return { ip, result: result.status.result, detail: result.status.comment?.split(`${sender}: `)[1] };
    }));
    const failing = results.filter((result) => result.result !== 'pass');
    if (failing.length === 0) return { status: 'verified' };
    const reason = failing
      .map((result) => `SPF evaluates to ${result.result} for ${result.ip}${(result.result === 'temperror' || result.result === 'permerror') && result.detail ? ` (${result.detail})` : ''}`)
      .join('; ');
    // Only temporary errors: SPF could not be evaluated, which says nothing about the record.
    return { status: failing.every((result) => result.result === 'temperror') ? 'error' : 'wrong', reason };
  }

  private async mx(record: ExpectedRecord): Promise<RecordCheck> {
    const found = await this.lookup('MX', record.name, () => this.resolver.resolveMx(record.name));
    if (!found.ok) return found.check;
    const hosts = [...found.value].sort((a, b) => a.priority - b.priority).map((mx) => hostOf(mx.exchange));
    if (hosts.length === 0) return { status: 'missing', reason: `no MX record at ${record.name}` };
    if (hosts.includes(hostOf(record.value))) return { status: 'verified' };
    if (hosts.every((host) => host === '')) return { status: 'wrong', reason: `${record.name} has a null MX (it accepts no mail), so bounces could not come back; point it to ${record.value}` };
    return { status: 'wrong', reason: `MX points to ${hosts.join(', ')}, not ${record.value}` };
  }

  /** Any valid DMARC record is fine: the advised one is only a start. */
  private async dmarc(record: ExpectedRecord): Promise<RecordCheck> {
    const found = await this.txt(record.name);
    if (!found.ok) return found.check.status === 'missing' ? { status: 'missing', reason: `no DMARC record at ${record.name}: receivers apply no DMARC policy and send no reports` } : found.check;
    const dmarc = found.value.filter((text) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(text.trim()));
    if (dmarc.length === 0) return { status: 'missing', reason: `no DMARC record (TXT v=DMARC1) at ${record.name}: receivers apply no DMARC policy and send no reports` };
    if (dmarc.length > 1) return { status: 'wrong', reason: `${dmarc.length} DMARC records at ${record.name}: receivers ignore them all; keep one` };
    const policy = (parseTags(dmarc[0]!).get('p') ?? '').toLowerCase();
    if (['none', 'quarantine', 'reject'].includes(policy)) return { status: 'verified' };
    return { status: 'wrong', reason: `the DMARC record at ${record.name} has no valid p= (none, quarantine or reject)` };
  }

  private async cname(record: ExpectedRecord): Promise<RecordCheck> {
    const found = await this.lookup('CNAME', record.name, () => this.resolver.resolveCname(record.name));
    if (!found.ok) return found.check;
    const targets = found.value.map(hostOf);
    if (targets.includes(hostOf(record.value))) return { status: 'verified' };
    return { status: 'wrong', reason: `CNAME points to ${targets.join(', ')}, not ${record.value}` };
  }
}
