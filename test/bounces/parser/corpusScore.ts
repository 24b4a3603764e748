import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseBounce, type BounceReport } from '../../../src/bounces/parser/index.js';
import { SHARED } from '../../helpers/paths.js';

/** The shared corpus of real bounces (sisimai's set-of-emails) and what sisimai expects of each. */
export const CORPUS = pathToFileURL(join(SHARED, 'data', 'bounces') + '/');

interface ExpectedRecipient {
  status: string;
  status_is_sisimai_pseudo: boolean;
  replycode: string;
  reason: string;
  hardbounce: boolean;
  feedback_type?: string;
}
interface ExpectedEmail {
  file: string;
  recipients: ExpectedRecipient[];
  n_recipients: number;
}

export interface Measure {
  name: string;
  hits: number;
  total: number;
}
export interface Miss {
  file: string;
  measure: string;
  want: string;
  got: string;
}

const NOT_BOUNCES = new Set(['feedback', 'vacation', 'delivered']);

export function scoreCorpus(): { measures: Measure[]; misses: Miss[] } {
  const expected = (JSON.parse(readFileSync(new URL('expected.json', CORPUS), 'utf8')) as { emails: ExpectedEmail[] }).emails;
  const byFile = new Map(expected.map((email) => [email.file, email]));
  const files = readdirSync(new URL('eml/', CORPUS)).filter((name) => byFile.has(name)).sort();
  const count = { detected: 0, recipients: 0, status: 0, hard: 0, reason: 0, emails: 0, expectedRecipients: 0 };
  const misses: Miss[] = [];
  for (const file of files) {
    const want = byFile.get(file) as ExpectedEmail;
    const report: BounceReport = parseBounce(readFileSync(new URL(`eml/${file}`, CORPUS)));
    count.emails += 1;
    const isBounce = want.recipients.some((recipient) => !NOT_BOUNCES.has(recipient.reason));
    if (report.bounce === isBounce) count.detected += 1;
    else misses.push({ file, measure: 'detected', want: String(isBounce), got: `${report.bounce} (${report.kind})` });
    const got = report.recipients;
    if (got.length === want.n_recipients && got.every((recipient) => recipient.address.includes('@'))) count.recipients += 1;
    else misses.push({ file, measure: 'recipients', want: String(want.n_recipients), got: got.map((recipient) => recipient.address || '(none)').join(', ') || '0' });
    want.recipients.forEach((expected, index) => {
      count.expectedRecipients += 1;
      const actual = got[index];
      const status = actual?.status ?? '';
      const statusOk = expected.status_is_sisimai_pseudo ? status === '' || status[0] === expected.status[0] : status === expected.status;
      if (statusOk) count.status += 1;
      else misses.push({ file, measure: 'status', want: expected.status, got: status || '(empty)' });
      if (actual && actual.hard === expected.hardbounce) count.hard += 1;
      else misses.push({ file, measure: 'hard', want: String(expected.hardbounce), got: `${actual?.hard} (${actual?.reason})` });
      if (actual?.reason === expected.reason) count.reason += 1;
      else misses.push({ file, measure: 'reason', want: expected.reason, got: `${actual?.reason} [${actual?.status}/${actual?.replyCode}] ${actual?.diagnostic.slice(0, 160) ?? ''}` });
    });
  }
  const measures: Measure[] = [
    { name: 'detected', hits: count.detected, total: count.emails },
    { name: 'recipients', hits: count.recipients, total: count.emails },
    { name: 'status', hits: count.status, total: count.expectedRecipients },
    { name: 'hard/soft', hits: count.hard, total: count.expectedRecipients },
    { name: 'reason', hits: count.reason, total: count.expectedRecipients },
  ];
  return { measures, misses };
}

export function formatTable(measures: Measure[]): string {
  const rows = measures.map(({ name, hits, total }) => `| ${name.padEnd(10)} | ${`${hits}/${total}`.padStart(7)} | ${(100 * hits / total).toFixed(1).padStart(5)}% |`);
  return ['| measure    |   count |      % |', '|------------|---------|--------|', ...rows].join('\n');
}
