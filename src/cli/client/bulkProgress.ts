import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ClientUsageError } from './http.js';

/**
 * FILE.mailroom-progress: what a `send-bulk` run of FILE has finished. Written (atomically: a
 * temporary file renamed over it) after each batch the server answered, so that a rerun after an
 * interruption starts from the first unfinished batch. The batch the run was in when it stopped
 * is sent again with the same Idempotency-Key: the server answers what it stored if it had
 * committed it, and sends it if it had not.
 */
export interface BulkProgress {
  /** SHA-256 of the CSV: the batches (and their keys) are those of these bytes. */
  fileHash: string;
  batchSize: number;
  template: string;
  from: string | null;
  /** batch number → its outcome. */
  done: Record<string, { sent: number; failed: number }>;
}

export function progressPath(csvFile: string): string {
  return `${csvFile}.mailroom-progress`;
}

/** The progress of an earlier run of these bytes with these settings, a fresh one, or a refusal when they differ. */
export function loadProgress(path: string, expected: Omit<BulkProgress, 'done'>): BulkProgress {
  if (!existsSync(path)) return { ...expected, done: {} };
  let stored: BulkProgress;
  try {
    stored = JSON.parse(readFileSync(path, 'utf8')) as BulkProgress;
  } catch {
    throw new ClientUsageError(`${path} is not a progress file; remove it to start over`);
  }
  if (stored.fileHash !== expected.fileHash) {
    throw new ClientUsageError(`the CSV changed since ${path} was written: remove that file to send the new content as a new run (rows already sent would be sent again)`);
  }
  if (stored.template !== expected.template || stored.from !== expected.from) {
    throw new ClientUsageError(`${path} records a run with --template ${stored.template}${stored.from ? ` --from ${stored.from}` : ''}: resume with the same options, or remove the file`);
  }
  // The batches are cut as they were: the keys of the batches sent depend on it.
  return { ...stored, batchSize: stored.batchSize, done: stored.done ?? {} };
}

export function saveProgress(path: string, progress: BulkProgress): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(progress, null, 2)}\n`);
  renameSync(temporary, path);
}
