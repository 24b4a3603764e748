import type { Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';

export const sql = sqlFile(new URL('./imports.sql', import.meta.url), [
  'createImport', 'getImport', 'listImports', 'recordProgress', 'finishImport', 'cancelImport', 'failInterrupted', 'runningAmong',
] as const);

/** A CSV import into a list, as GET /lists/{id}/imports/{importId} shows it. */
export const IMPORT_STATES = ['running', 'finished', 'failed', 'canceled'] as const;
export type ImportState = (typeof IMPORT_STATES)[number];
export const IMPORT_ID_PREFIX = 'imp_';
export const IMPORT_ID = /^imp_[0-9a-z]{22}$/;

export interface Refusal {
  line: number;
  reason: string;
}

export interface ListImport {
  id: string;
  listId: string;
  state: ImportState;
  /** Size of the file. */
  bytes: number;
  /** Rows handled so far (the header and empty lines not counted): added + updated + unchanged + refused. */
  rowsRead: number;
  /** New members of the list (the contact may have existed on other lists). */
  added: number;
  /** Members whose contact (name, attributes) or list status changed. */
  updated: number;
  unchanged: number;
  refused: number;
  /** The first refused rows by line number (at most 100), with why. */
  refusals: Refusal[];
  /** Why the import failed; null otherwise. */
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

interface ImportRow extends Record<string, unknown> {
  id: string;
  list_id: string;
  state: ImportState;
  bytes: number;
  rows_read: number;
  added: number;
  updated: number;
  unchanged: number;
  refused: number;
  refusals: Refusal[] | string;
  error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  finished_at: Date | string | null;
}

const iso = (value: Date | string) => new Date(value).toISOString();

function fromRow(row: ImportRow): ListImport {
  return {
    id: row.id, listId: row.list_id, state: row.state, bytes: Number(row.bytes), rowsRead: Number(row.rows_read), added: Number(row.added),
    updated: Number(row.updated), unchanged: Number(row.unchanged), refused: Number(row.refused),
    refusals: typeof row.refusals === 'string' ? (JSON.parse(row.refusals) as Refusal[]) : row.refusals, error: row.error,
    createdAt: iso(row.created_at), updatedAt: iso(row.updated_at), finishedAt: row.finished_at === null ? null : iso(row.finished_at),
  };
}

export async function createImport(db: Queryable, job: { id: string; accountId: number; listId: string; runner: string; bytes: number }, now: Date): Promise<ListImport> {
  const [row] = await db.query<ImportRow>(sql.createImport, [job.id, job.accountId, job.listId, job.runner, job.bytes, now]);
  return fromRow(row!);
}

export async function getImport(db: Queryable, accountId: number, listId: string, id: string): Promise<ListImport | null> {
  if (!IMPORT_ID.test(id)) return null;
  const [row] = await db.query<ImportRow>(sql.getImport, [accountId, listId, id]);
  return row ? fromRow(row) : null;
}

export async function listImports(db: Queryable, accountId: number, listId: string, options: { limit: number; cursor?: string }): Promise<{ data: ListImport[]; nextCursor: string | null }> {
  const rows = await db.query<ImportRow>(sql.listImports, [accountId, listId, options.cursor ?? null, options.limit + 1]);
  const data = rows.slice(0, options.limit).map(fromRow);
  return { data, nextCursor: rows.length > options.limit ? data.at(-1)!.id : null };
}

export async function cancelImport(db: Queryable, accountId: number, listId: string, id: string, now: Date): Promise<ListImport | null> {
  if (!IMPORT_ID.test(id)) return null;
  const [row] = await db.query<ImportRow>(sql.cancelImport, [accountId, listId, id, now]);
  return row ? fromRow(row) : null;
}
