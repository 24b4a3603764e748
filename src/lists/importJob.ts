import { createReadStream } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import type { Database } from '../db/database.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { ContactInput } from './contactInput.js';
import { writeMembers } from './contacts.js';
import { CsvRecordGuard } from './csvGuard.js';
import { readHeader, readRow, type CsvLayout } from './csvRows.js';
import { sql, type Refusal } from './imports.js';
import { lockList } from './lists.js';

export const IMPORT_LIMITS = {
  /** The largest CSV file accepted. */
  bytes: 100 * 1024 * 1024,
  /** A longer record is refused, and only this much of it is ever held (csvGuard.ts). */
  recordBytes: 64 * 1024,
  /** Rows per transaction: two statements of this many rows, and the job's progress. */
  batchRows: 5000,
  /** Refused lines kept with their reason (the first, by line number). */
  refusals: 100,
} as const;

/** A record as the reader hands it over: its cells, the line it starts on, whether it was cut. */
interface CsvRecord {
  cells: string[];
  line: number;
  truncated: boolean;
}

const CSV_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'opens a quoted field that is never closed (every line after it was read into that field)',
  CSV_INVALID_CLOSING_QUOTE: 'has a quoted field followed by something other than a comma or a line break',
  INVALID_OPENING_QUOTE: 'has a quote inside a field that does not start with one (quote the whole field and double its quotes)',
};

/**
 * The records of a contacts CSV, each with the line it starts on: lines end in LF or CRLF, empty
 * lines are skipped, a record that is not valid CSV is reported to `onInvalid` (with its line)
 * and reading goes on after it. The guard (csvGuard.ts) says where each record is; a record
 * csv-parse skipped is known by where its error was found (`bytes`: within that record, or in
 * the empty lines before it), which is before the end of its span and after the end of the last.
 */
export async function* csvRecords(source: Readable, guard: CsvRecordGuard, onInvalid: (line: number, reason: string) => void): AsyncGenerator<CsvRecord> {
  const skips: { bytes: number; reason: string }[] = [];
  const parser = parse({
    bom: false,
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined) => {
      if (error) skips.push({ bytes: Number((error as unknown as { bytes?: number }).bytes ?? 0), reason: `is not valid CSV: it ${CSV_ERRORS[error.code] ?? error.code}` });
      return undefined;
    },
  });
  /** Reports the records ahead of the next one that csv-parse skipped. */
  const takeSkipped = () => {
    for (let span = guard.peekSpan(); span && skips.length > 0 && skips[0]!.bytes < span.endByte; span = guard.peekSpan()) {
      guard.nextSpan();
      onInvalid(span.line, skips[0]!.reason);
      while (skips.length > 0 && skips[0]!.bytes < span.endByte) skips.shift();
    }
  };
  const records = pipeline(source, guard, parser, () => undefined) as unknown as AsyncIterable<string[]>;
  for await (const cells of records) {
    takeSkipped();
    const span = guard.nextSpan();
    if (!span) throw new Error('the CSV guard lost step with the parser');
    yield { cells, line: span.line, truncated: span.truncated };
  }
  takeSkipped();
}

/** Reads the header row of a spooled file: its layout, or what is wrong with it. */
export async function readFileHeader(file: string): Promise<{ ok: true; layout: CsvLayout } | { ok: false; message: string; details: { field: string; message: string }[] }> {
  const guard = new CsvRecordGuard(IMPORT_LIMITS.recordBytes);
  let invalid: string | null = null;
  const source = createReadStream(file);
  try {
    for await (const record of csvRecords(source, guard, (_line, reason) => (invalid ??= reason))) {
      if (invalid !== null) break;
      if (record.truncated) return { ok: false, message: `The header row is longer than ${IMPORT_LIMITS.recordBytes / 1024} KB.`, details: [{ field: 'header', message: 'is too long' }] };
      const header = readHeader(record.cells);
      if (header.ok) return header;
      return { ok: false, message: `The CSV header is not valid: ${header.details.map((d) => `${d.field} ${d.message}`).join('; ')}.`, details: header.details };
    }
  } finally {
    source.destroy();
  }
  if (invalid !== null) return { ok: false, message: `The CSV header row ${invalid}.`, details: [{ field: 'header', message: invalid }] };
  return { ok: false, message: 'The CSV has no header row (its first line names the columns: email, and optionally name, status and attributes).', details: [{ field: 'body', message: 'has no header row' }] };
}

export type JobEnd = { state: 'finished' } | { state: 'failed'; error: string } | { state: 'stopped' };

class Stopped extends Error {}

/**
 * One import: reads the spooled file record by record and writes it in batches, each in a
 * transaction that also records the job's totals, so that the totals are exact at every moment
 * (a crash or a cancel loses only the batch in flight, and counts nothing of it). While a batch
 * is written, the next is parsed. Bad rows are counted and the first of them kept; they never
 * stop the others.
 */
export class ImportJob {
  private layout: CsvLayout | null = null;
  private batch: ContactInput[] = [];
  private emails = new Set<string>();
  /** Batches being written, with their addresses. */
  private readonly writing = new Set<{ done: Promise<void>; emails: Set<string> }>();
  /** Refused rows not yet counted in the job's row. */
  private refusedUnwritten = 0;
  /** Whether the batches so far were all new contacts (writeMembers tries the cheaper INSERT then). */
  private readonly guess = { allNew: true };
  private readonly refusals: Refusal[] = [];
  /**
   * Batches written at once: two on PostgreSQL (one fills the server's other core while the
   * first waits for the list's counters); PGlite runs one statement at a time anyway.
   */
  private readonly concurrency: number;

  constructor(
    private readonly spec: { id: string; accountId: number; listId: string; file: string },
    private readonly deps: { db: Database; clock: Clock; log: Logger },
    private readonly signal: AbortSignal,
  ) {
    this.concurrency = deps.db.kind === 'postgres' ? 2 : 1;
  }

  async run(): Promise<JobEnd> {
    const guard = new CsvRecordGuard(IMPORT_LIMITS.recordBytes);
    const source = createReadStream(this.spec.file);
    try {
      for await (const record of csvRecords(source, guard, (line, reason) => this.refuse(line, reason))) {
        if (this.signal.aborted) break;
        if (this.layout === null) {
          const header = readHeader(record.cells);
          if (!header.ok) return { state: 'failed', error: 'the header row is not valid' };
          this.layout = header.layout;
          continue;
        }
        if (record.truncated) this.refuse(record.line, `is longer than ${IMPORT_LIMITS.recordBytes / 1024} KB`);
        else {
          const row = readRow(this.layout, record.cells);
          if (!row.ok) this.refuse(record.line, row.reason);
          else {
            // One statement cannot upsert one address twice: a repeated address starts a batch.
            if (this.emails.has(row.contact.email)) await this.flush();
            this.batch.push(row.contact);
            this.emails.add(row.contact.email);
          }
        }
        if (this.batch.length >= IMPORT_LIMITS.batchRows || this.refusedUnwritten >= IMPORT_LIMITS.batchRows) await this.flush();
      }
      if (!this.signal.aborted) await this.flush();
      await this.drain();
      if (this.signal.aborted) return { state: 'stopped' };
      // The last word on the refusals: batches written at once may have stored older lists.
      await this.deps.db.query(sql.recordProgress, [this.spec.id, 0, 0, 0, 0, JSON.stringify(this.refusals), this.deps.clock.now()]);
      return { state: 'finished' };
    } catch (error) {
      await this.drain().catch(() => undefined);
      if (error instanceof Stopped) return { state: 'stopped' };
      if (error instanceof ListGone) return { state: 'failed', error: 'the list was deleted during the import' };
      this.deps.log.error({ err: error, importId: this.spec.id }, 'a contacts import failed');
      return { state: 'failed', error: 'an internal error stopped the import; the rows counted were imported, and importing the file again adds the rest' };
    } finally {
      source.destroy();
    }
  }

  private refuse(line: number, reason: string): void {
    this.refusedUnwritten++;
    const refusals = this.refusals;
    if (refusals.length >= IMPORT_LIMITS.refusals && line > refusals.at(-1)!.line) return;
    // Kept sorted: a record the parser could not read is reported while the rows before it may
    // still be on their way.
    let at = refusals.length;
    while (at > 0 && refusals[at - 1]!.line > line) at--;
    refusals.splice(at, 0, { line, reason });
    if (refusals.length > IMPORT_LIMITS.refusals) refusals.pop();
  }

  /**
   * Starts writing the batch gathered so far once there is room: at most `concurrency` batches
   * are written while the next is gathered (the parser waits meanwhile), and never two with an
   * address in common, so that a later row of the file is always applied after an earlier one.
   */
  private async flush(): Promise<void> {
    const contacts = this.batch;
    const emails = this.emails;
    const refused = this.refusedUnwritten;
    this.batch = [];
    this.emails = new Set();
    this.refusedUnwritten = 0;
    if (contacts.length === 0 && refused === 0) return;
    const overlaps = () => [...this.writing].some((other) => contacts.some((contact) => other.emails.has(contact.email)));
    while (this.writing.size >= this.concurrency || (this.writing.size > 0 && overlaps())) {
      // A failed batch fails the job here.
      await Promise.race([...this.writing].map((entry) => entry.done));
    }
    const entry = { done: this.write(contacts, refused), emails };
    this.writing.add(entry);
    entry.done.then(() => this.writing.delete(entry), () => undefined);
  }

  /** Waits for every batch being written; the first failure is thrown. */
  private async drain(): Promise<void> {
    await Promise.all([...this.writing].map((entry) => entry.done));
  }

  private async write(contacts: readonly ContactInput[], refused: number): Promise<void> {
    const { db, clock } = this.deps;
    const now = clock.now();
    await db.transaction(async (tx) => {
      const list = await lockList(tx, this.spec.accountId, this.spec.listId);
      if (!list) throw new ListGone();
      const counts = { added: 0, updated: 0, unchanged: 0 };
      if (contacts.length > 0) {
        for (const outcome of await writeMembers(tx, this.spec.accountId, list, contacts, now, this.guess)) counts[outcome]++;
      }
      const recorded = await tx.query(sql.recordProgress, [this.spec.id, counts.added, counts.updated, counts.unchanged, refused, JSON.stringify(this.refusals), now]);
      if (recorded.length === 0) throw new Stopped();
    });
  }
}

class ListGone extends Error {}
