import assert from 'node:assert/strict';
import type { TestDnsServer, ZoneEntry } from '../helpers/dnsServer.js';

/** A record as the API answers it. */
export interface ApiRecord {
  purpose: string;
  type: 'TXT' | 'MX' | 'CNAME';
  name: string;
  value: string;
  priority?: number;
  status: string;
  reason?: string;
  required: boolean;
}

export interface ApiDomain {
  id: number;
  domain: string;
  status: string;
  verifiedBy: string | null;
  records: ApiRecord[];
  createdAt: string;
  verifiedAt: string | null;
  lastCheckedAt: string | null;
  failedAt: string | null;
}

export async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text) as T;
}

function entry(dns: TestDnsServer, name: string): ZoneEntry {
  return (dns.zone[name] ??= {});
}

/** Publishes records in the test DNS zone as an operator would (TXT added beside what is there). */
export function publish(dns: TestDnsServer, records: readonly ApiRecord[]): void {
  for (const record of records) {
    const at = entry(dns, record.name);
    if (record.type === 'TXT') (at.TXT ??= []).push(record.value);
    else if (record.type === 'MX') at.MX = [{ exchange: record.value, priority: record.priority ?? 10 }];
    else at.CNAME = record.value;
  }
}

export function recordOf(domain: ApiDomain, purpose: string, name?: string): ApiRecord {
  const record = domain.records.find((item) => item.purpose === purpose && (name === undefined || item.name === name));
  assert.ok(record, `a ${purpose} record${name ? ` at ${name}` : ''} in ${JSON.stringify(domain.records.map((item) => item.name))}`);
  return record;
}

/** `name status` of every record, for one readable assertion. */
export function statuses(domain: ApiDomain): Record<string, string> {
  return Object.fromEntries(domain.records.map((record) => [`${record.type} ${record.name}`, record.status]));
}
