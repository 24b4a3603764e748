import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { addIpCredential, defaultIpCredentialRules } from '../../src/accounts/ipCredentials.js';
import { SmtpCredentialResolver } from '../../src/accounts/smtpCredentials.js';
import type { Database } from '../../src/db/database.js';
import { listMigrations, migrate, splitStatements } from '../../src/db/migrate.js';
import { openMemoryPglite } from '../../src/db/pglite.js';
import { ApiError } from '../../src/shared/errors.js';
import { createTestStore, onPostgres, type TestStore } from '../helpers/database.js';

/**
 * Migration 012 on a database the code before the fix wrote: IP credentials of two accounts that
 * overlap (0.0.0.0/0 was accepted too), IPv4-mapped IPv6 text, an address with a zone and text
 * that is no range. The migration must go through, and what it derives must keep them apart.
 */
const VERSION = 12;
let store: TestStore | null = null;
let db: Database;

after(async () => {
  await db?.close();
  await store?.dispose();
});

async function migrateBefore(target: Database, version: number): Promise<void> {
  await target.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const migration of listMigrations().filter((entry) => entry.version < version)) {
    for (const statement of splitStatements(migration.sql)) await target.query(statement);
    await target.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
  }
}

async function account(name: string): Promise<{ accountId: number; operatorId: number }> {
  const [row] = await db.query<{ account_id: number; operator_id: number }>(
    `WITH a AS (INSERT INTO accounts (name, callback_secret) VALUES ($1, 'secret') RETURNING id)
     INSERT INTO operators (account_id, name) SELECT id, 'default' FROM a RETURNING account_id, id AS operator_id`,
    [name],
  );
  return { accountId: Number(row!.account_id), operatorId: Number(row!.operator_id) };
}

async function oldRow(owner: { accountId: number; operatorId: number }, address: string, revoked = false): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO smtp_credentials (account_id, operator_id, kind, name, address, revoked_at)
     VALUES ($1, $2, 'ip', '', $3, CASE WHEN $4::boolean THEN now() END) RETURNING id`,
    [owner.accountId, owner.operatorId, address, revoked],
  );
  return Number(row!.id);
}

test('migration 012 goes through overlapping and malformed rows, and the listener then keeps the accounts apart', async () => {
  if (onPostgres) {
    store = await createTestStore();
    db = await store.open();
  } else {
    db = await openMemoryPglite();
  }
  await migrateBefore(db, VERSION);
  const alpha = await account('alpha');
  const beta = await account('beta');
  const rows = {
    everything: await oldRow(alpha, '0.0.0.0/0'),
    loopback: await oldRow(beta, '127.0.0.1/32'),
    mapped: await oldRow(beta, '::ffff:a50:0/112'),
    zone: await oldRow(beta, 'fe80::1%eth0/128'),
    garbage: await oldRow(beta, 'not a range'),
    revoked: await oldRow(beta, '192.0.2.0/24', true),
    v6: await oldRow(alpha, '2001:db8::/32'),
  };
  await db.query(
    `INSERT INTO smtp_credentials (account_id, operator_id, kind, name, username, password_hash) VALUES ($1, $2, 'password', '', 'smtp_x', 'scrypt$x')`,
    [alpha.accountId, alpha.operatorId],
  );

  const applied = await migrate(db);
  assert.ok(applied.some((name) => name.startsWith(`0${VERSION}_`)), applied.join(', '));

  const derived = new Map(
    (await db.query<{ id: number; range: string | null }>(`SELECT id, ip_range::text AS range FROM smtp_credentials WHERE kind = 'ip'`)).map((row) => [Number(row.id), row.range]),
  );
  assert.equal(derived.get(rows.everything), '0.0.0.0/0');
  assert.equal(derived.get(rows.loopback), '127.0.0.1/32');
  assert.equal(derived.get(rows.mapped), '10.80.0.0/16', 'IPv4-mapped text is compared as the IPv4 range');
  assert.equal(derived.get(rows.zone), null);
  assert.equal(derived.get(rows.garbage), null);
  assert.equal(derived.get(rows.v6), '2001:db8::/32');

  // Fail closed where both accounts' live rows match; alpha's alone elsewhere; nobody for the rest.
  const resolver = new SmtpCredentialResolver(db);
  const owner = async (address: string) => (await resolver.byAddress(address))?.accountName ?? null;
  assert.equal(await owner('127.0.0.1'), null);
  assert.equal(await owner('10.80.3.4'), null);
  assert.equal(await owner('192.0.2.1'), 'alpha', 'beta\'s revoked row does not count');
  assert.equal(await owner('198.51.100.1'), 'alpha');
  assert.equal(await owner('2001:db8::1'), 'alpha');
  assert.equal(await owner('fe80::1'), null);

  // And no new overlap gets in: alpha's /0 covers every IPv4 address.
  await assert.rejects(addIpCredential(db, defaultIpCredentialRules(), beta, '', '198.51.100.0/24'), (error: unknown) => error instanceof ApiError && error.status === 409);
  await assert.rejects(addIpCredential(db, defaultIpCredentialRules(), beta, '', '2001:db8:5::/48'), (error: unknown) => error instanceof ApiError && error.status === 409);
  const added = await addIpCredential(db, defaultIpCredentialRules(), beta, '', '2001:db9::/48');
  assert.equal(added.address, '2001:db9::/48');
});
