import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createKey } from '../../src/accounts/apiKeys.js';
import { allowIpRange, disallowIpRange, listIpRanges } from '../../src/accounts/ipAllowances.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore, runCli } from '../helpers/process.js';

/**
 * MAILROOM_IP_CREDENTIALS=admin: an account adds IP credentials only inside the ranges an
 * installation admin allowed it with the command line. The commands run as real processes; on
 * PGlite only one process may open the data directory, so the API is stopped around them.
 */
let store: TestStore;

before(async () => {
  store = await createTestStore();
  await prepareStore(store);
});
after(() => store.dispose());

const cli = (args: string[], mode: 'open' | 'admin' = 'admin') => runCli(['accounts', ...args], { ...store.env, MAILROOM_IP_CREDENTIALS: mode });

async function withApi<T>(mode: 'open' | 'admin', fn: (app: TestApp, betaKey: string) => Promise<T>): Promise<T> {
  const app = await startTestApp({ MAILROOM_ROLES: 'api', MAILROOM_IP_CREDENTIALS: mode }, { store });
  try {
    const betaKey = (await createKey(app.mailroom.db, { accountName: 'beta' })).key;
    return await fn(app, betaKey);
  } finally {
    await app.stop();
  }
}

async function post(app: TestApp, key: string, address: string): Promise<{ status: number; code: string | undefined; message: string | undefined; id: number | undefined }> {
  const response = await app.api('/smtp-credentials', { method: 'POST', json: { type: 'ip', address }, key });
  const body = (await response.json()) as { data?: { id: number }; error?: { code: string; message: string } };
  return { status: response.status, code: body.error?.code, message: body.error?.message, id: body.data?.id };
}

test('admin mode: allowances from the command line decide which ranges an account may add', async () => {
  assert.equal((await cli(['create', 'beta'])).code, 0);
  const allowed = await cli(['allow-ip', 'default', '10.60.0.0/16']);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(allowed.stdout, 'account default may now add IP credentials inside 10.60.0.0/16\n');
  for (const [range, why] of [
    ['10.60.7.0/24', /^mailroom: 10\.60\.7\.0\/24 overlaps allowance 10\.60\.0\.0\/16 of account "default"; an address belongs to one account only\n$/],
    ['0.0.0.0/0', /0\.0\.0\.0\/0 is every address/],
  ] as const) {
    const refused = await cli(['allow-ip', 'beta', range]);
    assert.equal(refused.code, 1, `${range}: ${refused.stdout}`);
    assert.match(refused.stderr, why);
  }
  assert.equal((await cli(['allow-ip', 'beta', '10.61.0.0/16'])).code, 0);

  const ids = await withApi('admin', async (app, betaKey) => {
    const first = await post(app, app.key, '10.60.1.0/24');
    assert.equal(first.status, 201, JSON.stringify(first));
    const second = await post(app, app.key, '10.60.2.2');
    assert.equal(second.status, 201);
    for (const [key, range] of [[app.key, '10.62.0.0/16'], [app.key, '10.61.1.0/24'], [betaKey, '10.60.1.5'], [betaKey, '10.60.128.0/17']] as const) {
      const refused = await post(app, key, range);
      assert.equal(refused.status, 403, `${range}: ${JSON.stringify(refused)}`);
      assert.equal(refused.code, 'IP_RANGE_NOT_ALLOWED');
      assert.match(refused.message!, /MAILROOM_IP_CREDENTIALS=admin/);
      assert.doesNotMatch(refused.message!, /default|beta|10\.6[01]\.0\.0/);
    }
    assert.equal((await post(app, betaKey, '10.61.3.0/24')).status, 201);
    assert.equal((await post(app, betaKey, '::ffff:10.61.4.0/120')).status, 201, 'IPv4-mapped, inside the allowance');
    assert.equal((await post(app, app.key, '10.60.0.0/15')).code, 'IP_RANGE_TOO_WIDE', 'the width limit applies too');

    // What the commands call, in this process (each command is a process of seconds).
    const db = app.mailroom.db;
    assert.deepEqual(await allowIpRange(db, 'default', '10.60.3.4/16'), { range: '10.60.0.0/16', added: false }, 'allowed already');
    await assert.rejects(allowIpRange(db, 'beta', '::ffff:10.60.9.9'), /10\.60\.9\.9\/32 overlaps allowance 10\.60\.0\.0\/16 of account "default"/);
    await assert.rejects(allowIpRange(db, 'beta', '10.0.0.0/8'), /10\.0\.0\.0\/8 overlaps allowance 10\.60\.0\.0\/16 of account "default"/);
    await assert.rejects(allowIpRange(db, 'beta', '::/0'), /::\/0 is every address/);
    await assert.rejects(allowIpRange(db, 'beta', '10.60.0'), /"10\.60\.0" is not an IPv4 or IPv6 address or CIDR range/);
    await assert.rejects(allowIpRange(db, 'nobody', '10.99.0.0/16'), /no account named "nobody"/);
    await assert.rejects(disallowIpRange(db, 'beta', '10.99.0.0/16', true), /account "beta" has no allowance 10\.99\.0\.0\/16/);
    return [first.id!, second.id!];
  });

  const listed = await cli(['list-ip', 'default']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^allowance\t10\.60\.0\.0\/16\tcreated \d{4}-/m);
  assert.match(listed.stdout, new RegExp(`^credential\\t${ids[0]}\\t10\\.60\\.1\\.0/24\\t\\tinside an allowance$`, 'm'));
  assert.match(listed.stdout, new RegExp(`^credential\\t${ids[1]}\\t10\\.60\\.2\\.2/32\\t\\tinside an allowance$`, 'm'));

  // An admin cannot give beta what default's credentials hold either.
  const overlapping = await cli(['allow-ip', 'beta', '10.60.1.9']);
  assert.equal(overlapping.code, 1);
  assert.match(overlapping.stderr, new RegExp(`IP credential ${ids[0]} \\(10\\.60\\.1\\.0/24\\) of account "default"`));

  const removed = await cli(['disallow-ip', 'default', '10.60.0.0/16']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(
    removed.stdout,
    `account default no longer has the allowance 10.60.0.0/16\n` +
      `revoked IP credential ${ids[0]} (10.60.1.0/24): no allowance of the account covers it any more\n` +
      `revoked IP credential ${ids[1]} (10.60.2.2/32): no allowance of the account covers it any more\n`,
  );
  assert.equal((await cli(['allow-ip', 'beta', '10.60.1.0/24'])).code, 0, 'the space is free again');

  await withApi('admin', async (app, betaKey) => {
    assert.equal((await post(app, betaKey, '10.60.1.0/24')).status, 201);
    assert.equal((await post(app, app.key, '10.60.1.0/24')).code, 'IP_RANGE_NOT_ALLOWED');
    assert.deepEqual(await listIpRanges(app.mailroom.db, 'default'), { allowances: [], credentials: [] });
  });
});

test('open mode: any free range, but another account\'s allowance stays taken; disallowing revokes nothing', async () => {
  await withApi('open', async (app) => {
    const taken = await post(app, app.key, '10.61.200.0/24');
    assert.equal(taken.status, 409, 'inside beta\'s allowance');
    assert.equal(taken.code, 'IP_RANGE_TAKEN');
    assert.equal((await post(app, app.key, '10.63.0.0/16')).status, 201, 'no allowance needed');
  });
  const allowed = await cli(['allow-ip', 'default', '10.64.0.0/16'], 'open');
  assert.match(allowed.stdout, /MAILROOM_IP_CREDENTIALS is "open"/);
  const removed = await cli(['disallow-ip', 'beta', '10.61.0.0/16'], 'open');
  assert.equal(removed.stdout, 'account beta no longer has the allowance 10.61.0.0/16\n');
  const listed = (await cli(['list-ip', 'beta'], 'open')).stdout;
  assert.match(listed, /^credential\t\d+\t10\.61\.3\.0\/24\t\toutside every allowance$/m);
  assert.match(listed, /^credential\t\d+\t10\.61\.4\.0\/24\t\toutside every allowance$/m);
  assert.match(listed, /^allowance\t10\.60\.1\.0\/24\t/m);
});
