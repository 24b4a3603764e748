import { createHash } from 'node:crypto';
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

/** A corpus file's MTA or provider family: its name without the number ("lhost-postfix-02.eml": "lhost-postfix"). */
export function familyOf(file: string): string {
  return file.replace(/-\d+\.eml$/, '');
}

/**
 * The held-out third: within each family, the files ordered by the SHA-256 of their names, every
 * third one from the second (a family of one file keeps it tuned). No rule may be written or
 * changed while looking at these files: the corpus test prints the misses of the tuned files
 * only, and its score on these is the one that counts (docs/BOUNCES.md). Fixed 2026-12-07.
 */
export function heldOutFiles(files: readonly string[]): Set<string> {
  const families = new Map<string, string[]>();
  for (const file of files) families.set(familyOf(file), [...(families.get(familyOf(file)) ?? []), file]);
  const held = new Set<string>();
  const digest = (file: string) => createHash('sha256').update(file).digest('hex');
  for (const members of families.values()) {
    members.sort((a, b) => (digest(a) < digest(b) ? -1 : 1)).forEach((file, index) => {
      if (index % 3 === 1) held.add(file);
    });
  }
  return held;
}

export type Split = 'all' | 'tuned' | 'held-out';

export function corpusFiles(split: Split = 'all'): string[] {
  const expected = (JSON.parse(readFileSync(new URL('expected.json', CORPUS), 'utf8')) as { emails: ExpectedEmail[] }).emails;
  const files = readdirSync(new URL('eml/', CORPUS)).filter((name) => expected.some((email) => email.file === name)).sort();
  if (split === 'all') return files;
  const held = heldOutFiles(files);
  return files.filter((file) => held.has(file) === (split === 'held-out'));
}

export function scoreCorpus(split: Split = 'all'): { measures: Measure[]; misses: Miss[] } {
  const expected = (JSON.parse(readFileSync(new URL('expected.json', CORPUS), 'utf8')) as { emails: ExpectedEmail[] }).emails;
  const byFile = new Map(expected.map((email) => [email.file, email]));
  const files = corpusFiles(split);
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

const percent = ({ hits, total }: Measure) => (total === 0 ? 0 : (100 * hits) / total);

/** One row per measure, one column per split: `| status | 98.7% (294/298) | ... |`. */
export function formatTable(columns: ReadonlyArray<{ title: string; measures: Measure[] }>): string {
  const cell = (measure: Measure) => `${percent(measure).toFixed(1)}% (${measure.hits}/${measure.total})`;
  const header = `| measure    | ${columns.map((column) => column.title.padEnd(18)).join(' | ')} |`;
  const rule = `|------------|${columns.map(() => '-'.repeat(20)).join('|')}|`;
  const names = columns[0]?.measures.map((measure) => measure.name) ?? [];
  const rows = names.map((name, row) => `| ${name.padEnd(10)} | ${columns.map((column) => cell(column.measures[row]!).padEnd(18)).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}
