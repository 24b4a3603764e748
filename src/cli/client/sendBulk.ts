import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { CliOptions } from '../options.js';
import { loadProgress, progressPath, saveProgress } from './bulkProgress.js';
import { clientFromEnv, ClientError, ClientUsageError } from './http.js';

interface BulkAnswer {
  data: ({ data: { id: string; to: string; status: string } } | { error: { code: string; message: string } })[];
}

interface Row {
  to: string;
  placeholders: Record<string, string>;
}

const DEFAULT_BATCH = 100;

function positiveInteger(value: string | undefined, flag: string, max: number): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1 || Number(value) > max) throw new ClientUsageError(`${flag} takes a whole number from 1 to ${max}`);
  return Number(value);
}

/** The CSV's rows: the column email (or to) is the recipient, every other column a placeholder. */
async function readRows(text: string): Promise<Row[]> {
  const { parse } = await import('csv-parse/sync');
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: (header: string[]) => header.map((name) => name.trim()), skip_empty_lines: true, bom: true, trim: true }) as Record<string, string>[];
  } catch (error) {
    throw new ClientUsageError(`the CSV cannot be read: ${(error as Error).message}`);
  }
  const first = records[0];
  if (!first) throw new ClientUsageError('the CSV has no rows');
  const column = 'email' in first ? 'email' : 'to' in first ? 'to' : null;
  if (!column) throw new ClientUsageError('the CSV needs a column named email (or to) with the recipients');
  return records.map((record, index) => {
    const { [column]: to, ...placeholders } = record;
    if (!to) throw new ClientUsageError(`row ${index + 2} has no ${column}`);
    return { to, placeholders };
  });
}

/** Progress on stderr: a bar redrawn in place at a terminal, a line per batch otherwise (logs, CI). */
function progressReporter(total: number, quiet: boolean): { update(done: number, batch: number, batches: number): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  return {
    update(done, batch, batches) {
      if (quiet) return;
      if (tty) {
        const width = 30;
        const filled = Math.round((done / total) * width);
        process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} (batch ${batch}/${batches})`);
      } else process.stderr.write(`batch ${batch}/${batches}: ${done}/${total} rows\n`);
    },
    end() {
      if (tty && !quiet) process.stderr.write('\n');
    },
  };
}

/**
 * `mailroom send-bulk --csv FILE --template ID`: one message per row through POST /emails/bulk,
 * resumable without sending anyone twice (bulkProgress.ts): each batch's Idempotency-Key is the
 * file's hash and the batch's number.
 */
export async function sendBulkCommand(args: string[], options: CliOptions): Promise<number> {
  const file = options.csv ?? args[0];
  if (!file || !options.template) throw new ClientUsageError('send-bulk needs --csv FILE and --template ID; see mailroom send-bulk --help');
  const rate = positiveInteger(options.rate, '--rate', 1_000_000);
  const requestedBatch = positiveInteger(options['batch-size'], '--batch-size', 1000) ?? DEFAULT_BATCH;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ClientError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const fileHash = createHash('sha256').update(bytes).digest('hex');
  const rows = await readRows(bytes.toString('utf8'));
  const statePath = progressPath(file);
  // With a rate, a batch is at most a second's worth, so that the pace is even.
  const progress = loadProgress(statePath, { fileHash, batchSize: rate ? Math.min(requestedBatch, rate) : requestedBatch, template: options.template, from: options.from ?? null });
  const batches = Math.ceil(rows.length / progress.batchSize);
  const client = clientFromEnv();
  const reporter = progressReporter(rows.length, options.json === true);
  const defaults: Record<string, string> = { templateId: options.template };
  if (options.from) defaults.from = options.from;
  const failures: { row: number; to: string; code: string; message: string }[] = [];
  let skipped = 0;
  let sentNow = 0;
  for (let batch = 1; batch <= batches; batch++) {
    const start = (batch - 1) * progress.batchSize;
    const slice = rows.slice(start, start + progress.batchSize);
    if (progress.done[batch]) {
      skipped++;
      continue;
    }
    const began = Date.now();
    const messages = slice.map((row) => (Object.keys(row.placeholders).length > 0 ? { to: row.to, placeholders: row.placeholders } : { to: row.to }));
    const { body } = await client.request<BulkAnswer>('POST', '/emails/bulk', {
      body: { messages, defaults },
      headers: { 'idempotency-key': `mailroom-bulk-${fileHash.slice(0, 40)}-${progress.batchSize}-${batch}` },
    });
    let sent = 0;
    body.data.forEach((result, index) => {
      if ('data' in result) sent++;
      else failures.push({ row: start + index + 2, to: slice[index]!.to, code: result.error.code, message: result.error.message });
    });
    progress.done[batch] = { sent, failed: slice.length - sent };
    saveProgress(statePath, progress);
    sentNow += sent;
    reporter.update(Math.min(start + slice.length, rows.length), batch, batches);
    if (rate && batch < batches) {
      const wait = (slice.length / rate) * 1000 - (Date.now() - began);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  reporter.end();
  const totals = Object.values(progress.done).reduce((sum, outcome) => ({ sent: sum.sent + outcome.sent, failed: sum.failed + outcome.failed }), { sent: 0, failed: 0 });
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ rows: rows.length, batches, skippedBatches: skipped, sentNow, sent: totals.sent, failed: totals.failed, failures, progressFile: statePath })}\n`);
  } else {
    for (const failure of failures) process.stderr.write(`row ${failure.row} (${failure.to}): ${failure.code} ${failure.message}\n`);
    process.stdout.write(`${totals.sent} of ${rows.length} rows accepted, ${totals.failed} refused${skipped > 0 ? ` (${skipped} batch(es) finished by an earlier run)` : ''}; progress in ${statePath}\n`);
  }
  return totals.failed > 0 ? 1 : 0;
}
