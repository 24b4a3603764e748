import { readdirSync, readFileSync } from 'node:fs';
import type { Database } from './database.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
/** Any constant: serialises migrations between processes starting against one PostgreSQL. */
const MIGRATION_LOCK = 0x6d61696c;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => /^\d+_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.split('_')[0]),
      name: file.replace(/\.sql$/, ''),
      sql: readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8'),
    }));
}

/** Applies pending migrations in order, in one transaction, under an advisory lock. Returns their names. */
export async function migrate(db: Database): Promise<string[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const applied = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((row) => row.version));
    const done: string[] = [];
    for (const migration of listMigrations()) {
      if (applied.has(migration.version)) continue;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      done.push(migration.name);
    }
    return done;
  });
}

/**
 * Splits a migration on `;` at line ends, except inside a dollar-quoted body ($$ ... $$, the body
 * of a trigger function), whose statements end in `;` too.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let quoted = false;
  for (const line of sql.split('\n')) {
    current += `${line}\n`;
    if ((line.replace(/--.*$/, '').match(/\$\$/g)?.length ?? 0) % 2 === 1) quoted = !quoted;
    if (!quoted && /;\s*$/.test(line.replace(/--.*$/, ''))) {
      statements.push(current);
      current = '';
    }
  }
  statements.push(current);
  return statements
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim().replace(/;$/, '').trim())
    .filter(Boolean);
}

export async function pendingMigrations(db: Database): Promise<number> {
  const rows = await db.query<{ version: number }>(
    `SELECT version FROM schema_migrations`,
  ).catch(() => [] as { version: number }[]);
  const applied = new Set(rows.map((row) => row.version));
  return listMigrations().filter((migration) => !applied.has(migration.version)).length;
}
