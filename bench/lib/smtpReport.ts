import type { CpuSplit } from './cpu.js';
import type { SmtpSourceRun } from './smtpSource.js';

/** One target of the smtp benchmark, measured: smtp-sink, Postfix's smtpd, or Mailroom. */
export interface IngestRun {
  label: string;
  kind: 'sink' | 'postfix' | 'mailroom';
  messages: number;
  /** smtp-source's spawn to its exit. */
  seconds: number;
  source: SmtpSourceRun;
  /** CPU seconds of the receiving server during the timed run: smtp-sink, Postfix's master and daemons, Mailroom's process. */
  serverCpuSeconds: number | null;
  /** CPU seconds of all PostgreSQL processes during the timed run (Mailroom on PostgreSQL only). */
  postgresCpuSeconds: number | null;
  /** Where the machine's CPU went, smtp-source counted as the load generator, the server as itself. */
  split: CpuSplit | null;
  /** PostgreSQL transactions committed per message (Mailroom on PostgreSQL). */
  commitsPerMessage: number | null;
  /** What was checked after the run, for the table ("yes (20,000 rows)"). */
  verified: string;
  ok: boolean;
  problems: string[];
}

/**
 * The split cpuSplit() measured, with smtp-source (a child that exited before the second
 * snapshot, so cpuSplit saw it only as "other") moved to the load generator, and `serverSeconds`
 * (when the server is not one process) moved from "other" to the server.
 */
export function adjustSplit(split: CpuSplit | null, sourceCpuSeconds: number, serverSeconds?: number): CpuSplit | null {
  if (!split) return null;
  const source = sourceCpuSeconds / split.seconds;
  const server = serverSeconds === undefined ? 0 : serverSeconds / split.seconds;
  return {
    ...split,
    loadGenerator: split.loadGenerator + source,
    server: serverSeconds === undefined ? split.server : server,
    other: Math.max(0, split.other - source - server),
  };
}

export const number = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const rate = (run: IngestRun) => run.messages / run.seconds;

export function table(runs: IngestRun[]): string {
  const sink = runs.find((run) => run.kind === 'sink' && run.ok);
  const postfix = runs.find((run) => run.kind === 'postfix' && run.ok);
  const per1000 = (seconds: number | null, messages: number) => (seconds === null ? null : (seconds * 1000) / messages);
  const header = ['target', 'messages', 'seconds', 'messages/s', 'ratio to smtp-sink', 'ratio to Postfix', 'server CPU s per 1,000', 'PostgreSQL CPU s per 1,000', 'smtp-source CPU s per 1,000', 'verified'];
  const cells = runs.map((run) => [
    run.label,
    number(run.messages),
    number(run.seconds, 2),
    number(rate(run)),
    sink ? (rate(run) / rate(sink)).toFixed(2) : '-',
    postfix ? (rate(run) / rate(postfix)).toFixed(2) : '-',
    number(per1000(run.serverCpuSeconds, run.messages), 2),
    number(per1000(run.postgresCpuSeconds, run.messages), 2),
    number(per1000(run.source.cpuSeconds, run.messages), 2),
    run.verified,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const last = header.length - 1;
  const line = (values: string[]) => `| ${values.map((value, column) => (column === 0 || column === last ? value.padEnd(widths[column]!) : value.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 || column === last ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}
