import type { MailroomRun } from './mailroomDelivery.js';
import type { PostfixRun } from './postfixDelivery.js';

/** The delivery benchmark's result table: one row per target, rates and ratio to the Postfix reference. */
export interface Row {
  label: string;
  messages: number;
  seconds: number;
  steadyRate: number;
  startupSeconds: number;
  /** CPU seconds per 1,000 messages: the Mailroom worker process, or Postfix's master and daemons. */
  cpuPer1000: number | null;
  postgresPer1000: number | null;
  /** PostgreSQL transactions committed per message (worker spawn to exit). */
  commitsPerMessage: number | null;
  verified: string;
  postfix: boolean;
}

export const number = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function mailroomRow(label: string, run: MailroomRun, messages: number, database: 'pglite' | 'postgres'): Row {
  const ok = run.done === messages && run.after.queued === 0 && run.extraAtSink === 0;
  return {
    label,
    messages,
    seconds: run.seconds,
    steadyRate: (messages - 1) / run.steadySeconds,
    startupSeconds: run.startupSeconds,
    cpuPer1000: run.workerCpuSeconds === null ? null : (run.workerCpuSeconds * 1000) / messages,
    postgresPer1000: database === 'postgres' && run.split ? (run.split.postgres * run.split.seconds * 1000) / messages : null,
    commitsPerMessage: run.commits === null ? null : run.commits / messages,
    verified: `${ok ? 'yes' : 'NO'} (${number(run.done)} ${run.finalStatus}, ${number(run.after.queued)} queued, ${run.extraAtSink} extra at the sink)`,
    postfix: false,
  };
}

export function postfixRow(run: PostfixRun, messages: number): Row {
  return {
    label: 'Postfix relayhost, no DKIM (reference)',
    messages,
    seconds: run.seconds,
    steadyRate: (messages - 1) / run.steadySeconds,
    startupSeconds: run.startupSeconds,
    cpuPer1000: (run.cpuSeconds * 1000) / messages,
    postgresPer1000: null,
    commitsPerMessage: null,
    verified: `${run.problems.length === 0 ? 'yes' : 'NO'} (${number(run.sent)} status=sent, ${number(run.queued)} queued, ${run.extraAtSink} extra at the sink)`,
    postfix: true,
  };
}

export function table(rows: Row[]): string {
  const reference = rows.find((row) => row.postfix);
  const referenceRate = reference ? reference.messages / reference.seconds : null;
  const header = ['target', 'messages', 'seconds', 'messages/s', 'ratio to Postfix', 'first→last msg/s', 'start-up s', 'CPU s per 1,000', 'PostgreSQL CPU s per 1,000', 'PostgreSQL commits per message', 'all delivered'];
  const cells = rows.map((row) => {
    const rate = row.messages / row.seconds;
    return [
      row.label,
      number(row.messages),
      number(row.seconds, 2),
      number(rate),
      referenceRate ? (rate / referenceRate).toFixed(2) : '-',
      number(row.steadyRate),
      number(row.startupSeconds, 2),
      number(row.cpuPer1000, 2),
      number(row.postgresPer1000, 2),
      number(row.commitsPerMessage, 2),
      row.verified,
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const line = (values: string[]) => `| ${values.map((value, column) => (column === 0 || column === values.length - 1 ? value.padEnd(widths[column]!) : value.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 || column === widths.length - 1 ? `${'-'.repeat(width + 2)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}
