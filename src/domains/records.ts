import { isIP } from 'node:net';
import { dkimKeyData, dkimRecord, type DkimAlgorithm, type DkimKey, type Domain, type DomainStatus, type StoredCheck } from './domains.js';
import { unqualifiedNames, type DomainSettings } from './settings.js';

/**
 * The DNS records a domain publishes (docs/DOMAINS.md), built from its keys and the installation's
 * settings each time they are shown or checked, so that a changed setting (the sending IPs, the
 * MX host) shows at once; a stored check applies to a record only while its value is the same.
 */
export type RecordType = 'TXT' | 'MX' | 'CNAME';
export type RecordPurpose = 'dkim' | 'spf' | 'return-path' | 'dmarc' | 'tracking';
/** pending: not checked yet; retiring: a replaced DKIM key to keep published for a while (not checked). */
export type RecordStatus = 'pending' | 'verified' | 'missing' | 'wrong' | 'error' | 'retiring';
export const RECORD_STATUSES: readonly RecordStatus[] = ['pending', 'verified', 'missing', 'wrong', 'error', 'retiring'];

export interface ExpectedRecord {
  purpose: RecordPurpose;
  type: RecordType;
  name: string;
  value: string;
  /** MX only. */
  priority?: number;
  /** A required record missing or wrong keeps a domain from being verified (and fails a verified one). */
  required: boolean;
  /** What is wrong with the record as the installation makes it (a configured name not fully qualified). */
  warning?: string;
  /** DKIM records: the key published, for comparing p= key material. */
  dkim?: {
    selector: string;
    algorithm: DkimAlgorithm;
    key: Buffer;
    /** active: signs now; pending: a rotation's next key; retiring: replaced, still listed. */
    state: 'active' | 'pending' | 'retiring';
    keyId: number | null;
    retireUntil: Date | null;
  };
}

export interface RecordCheck {
  status: Exclude<RecordStatus, 'pending' | 'retiring'>;
  reason?: string;
}

/** A record as the API shows it. */
export interface DomainRecord {
  purpose: RecordPurpose;
  type: RecordType;
  name: string;
  value: string;
  priority?: number;
  status: RecordStatus;
  reason?: string;
  required: boolean;
  warning?: string;
}

export interface DomainView {
  id: number;
  domain: string;
  status: DomainStatus;
  /** Who verified it: DNS checks, or an installation admin (`mailroom domains add --verified`); null while pending. */
  verifiedBy: 'dns' | 'admin' | null;
  records: DomainRecord[];
  createdAt: string;
  verifiedAt: string | null;
  lastCheckedAt: string | null;
  /** When a check found a required record broken; sending goes on for the grace after it. */
  failedAt: string | null;
}

/** The label of the tracking CNAME: track.<domain>. */
export const TRACKING_LABEL = 'track';
export const MX_PRIORITY = 10;

/** Where the SPF record goes: the Return-Path domain, or the domain itself when Return-Paths are at MAILROOM_BOUNCE_DOMAIN. */
export function spfName(domain: string, settings: Pick<DomainSettings, 'bounceDomain'>): string {
  return settings.bounceDomain ? domain : `bounces.${domain}`;
}

export function spfMechanisms(settings: Pick<DomainSettings, 'sendingIps' | 'heloName'>): string[] {
  if (settings.sendingIps.length === 0) return [`a:${settings.heloName}`];
  return settings.sendingIps.map((ip) => (isIP(ip) === 6 ? `ip6:${ip}` : `ip4:${ip}`));
}

export function dmarcValue(domain: string): string {
  return `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}`;
}

/** The host of MAILROOM_PUBLIC_URL, or null when it is an address (a CNAME cannot point at one). */
export function trackingTarget(publicUrl: string): string | null {
  const host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return isIP(host) === 0 ? host : null;
}

export function expectedRecords(domain: Domain, keys: readonly DkimKey[], settings: DomainSettings): ExpectedRecord[] {
  const name = domain.domain;
  const records: ExpectedRecord[] = [];
  const dkim = (selector: string, algorithm: DkimAlgorithm, publicKey: string, state: 'active' | 'pending' | 'retiring', key: DkimKey | null): ExpectedRecord => ({
    purpose: 'dkim',
    type: 'TXT',
    name: `${selector}._domainkey.${name}`,
    value: dkimRecord(publicKey, algorithm),
    required: state === 'active',
    dkim: { selector, algorithm, key: dkimKeyData(publicKey, algorithm), state, keyId: key ? Number(key.id) : null, retireUntil: key?.retire_until ? new Date(key.retire_until) : null },
  });
  records.push(dkim(domain.dkim_selector, 'rsa', domain.dkim_public_key, 'active', null));
  if (domain.dkim_ed25519_selector && domain.dkim_ed25519_public_key) {
    records.push(dkim(domain.dkim_ed25519_selector, 'ed25519', domain.dkim_ed25519_public_key, 'active', null));
  }
  for (const key of keys) records.push(dkim(key.selector, key.algorithm, key.public_key, key.state, key));

  const spfAt = spfName(name, settings);
  records.push({ purpose: 'spf', type: 'TXT', name: spfAt, value: `v=spf1 ${spfMechanisms(settings).join(' ')} ~all`, required: true });
  // With MAILROOM_BOUNCE_DOMAIN, bounces go to the installation's domain, whose MX is the operator's.
  if (!settings.bounceDomain) {
    records.push({ purpose: 'return-path', type: 'MX', name: `bounces.${name}`, value: settings.mxHostname, priority: MX_PRIORITY, required: true });
  }
  for (const problem of unqualifiedNames(settings)) {
    const record = records.find((entry) => entry.purpose === problem.record);
    if (record) record.warning = problem.message;
  }
  records.push({ purpose: 'dmarc', type: 'TXT', name: `_dmarc.${name}`, value: dmarcValue(name), required: false });
  const target = trackingTarget(settings.publicUrl);
  if (target) records.push({ purpose: 'tracking', type: 'CNAME', name: `${TRACKING_LABEL}.${name}`, value: target, required: false });
  return records;
}

function hint(record: ExpectedRecord, domain: Domain): string | undefined {
  if (record.dkim?.state === 'pending') {
    return `the next key: once a check finds this record, mail is signed with selector ${record.dkim.selector} instead of ${domain.dkim_selector}`;
  }
  if (record.dkim?.state === 'retiring') {
    return `replaced: no longer signs; keep it published until ${record.dkim.retireUntil?.toISOString() ?? 'the overlap ends'} so that mail signed before the switch still verifies, then remove it`;
  }
  return undefined;
}

/** The record as shown: its last check while its value is unchanged, else pending. */
export function showRecord(record: ExpectedRecord, domain: Domain, check: RecordCheck | StoredCheck | undefined): DomainRecord {
  const shown: DomainRecord = { purpose: record.purpose, type: record.type, name: record.name, value: record.value, status: 'pending', required: record.required };
  if (record.priority !== undefined) shown.priority = record.priority;
  if (record.warning !== undefined) shown.warning = record.warning;
  const extra = hint(record, domain);
  if (record.dkim?.state === 'retiring') {
    shown.status = 'retiring';
    if (extra) shown.reason = extra;
    return shown;
  }
  if (check) {
    shown.status = check.status as RecordStatus;
    if (check.reason) shown.reason = check.reason;
  }
  if (extra && shown.status !== 'verified') shown.reason = shown.reason ? `${shown.reason}; ${extra}` : extra;
  return shown;
}

export function recordKey(record: { type: string; name: string; value: string }): string {
  return `${record.type} ${record.name} ${record.value}`;
}

export function domainView(domain: Domain, keys: readonly DkimKey[], settings: DomainSettings): DomainView {
  const stored = new Map((domain.check_results ?? []).map((check) => [recordKey(check), check]));
  const records = expectedRecords(domain, keys, settings).map((record) => showRecord(record, domain, stored.get(recordKey(record))));
  const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);
  return {
    id: Number(domain.id),
    domain: domain.domain,
    status: domain.status,
    verifiedBy: domain.status === 'pending' ? null : domain.verification,
    records,
    createdAt: new Date(domain.created_at).toISOString(),
    verifiedAt: iso(domain.verified_at),
    lastCheckedAt: iso(domain.last_checked_at),
    failedAt: iso(domain.failed_at),
  };
}
