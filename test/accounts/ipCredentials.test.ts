import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, onPostgres, type TestStore } from '../helpers/database.js';

/**
 * An address range may belong to one account only (issue 15): through the API, with the default
 * limits (/16 for IPv4, /48 for IPv6). Three accounts: alpha (the bootstrap key), beta, gamma.
 * Every test takes address space of its own, so that none depends on another's leftovers.
 */
let store: TestStore;
let app: TestApp;
let beta: string;
let gamma: string;
let alpha: string;

interface Answer {
  status: number;
  data: { id: number; address: string };
  error: { code: string; message: string; details: { field: string; message: string }[] };
}

async function addRange(key: string, address: string, target: TestApp = app): Promise<Answer> {
  const response = await target.api('/smtp-credentials', { method: 'POST', json: { type: 'ip', address, name: 'office' }, key });
  return { status: response.status, ...((await response.json()) as Omit<Answer, 'status'>) };
}

async function owned(key: string, address: string): Promise<Answer['data']> {
  const answer = await addRange(key, address);
  assert.equal(answer.status, 201, `${address}: ${JSON.stringify(answer)}`);
  return answer.data;
}

/** A 409 that says nothing of who holds the addresses or which range they hold. */
function assertTaken(answer: Answer, address: string, otherRanges: string[]): void {
  assert.equal(answer.status, 409, `${address}: ${JSON.stringify(answer)}`);
  assert.equal(answer.error.code, 'IP_RANGE_TAKEN');
  const text = JSON.stringify(answer.error);
  for (const hidden of ['alpha', 'beta', 'gamma', 'default', ...otherRanges]) assert.ok(!text.includes(hidden), `the refusal names "${hidden}": ${text}`);
}

async function liveRanges(key: string): Promise<string[]> {
  const response = await app.api('/smtp-credentials', { key });
  const { data } = (await response.json()) as { data: { type: string; address: string | null }[] };
  return data.filter((entry) => entry.type === 'ip').map((entry) => entry.address!);
}

before(async () => {
  store = await createTestStore();
  app = await startTestApp({ MAILROOM_ROLES: 'api' }, { store });
  alpha = app.key;
  beta = await otherAccountKey(app, 'beta');
  gamma = await otherAccountKey(app, 'gamma');
});
after(async () => {
  await app.stop();
  await store.dispose();
});

test('IPv4: a range equal to, inside or around another account\'s is 409; a neighbouring range is free', async () => {
  await owned(alpha, '10.20.0.0/16');
  assertTaken(await addRange(beta, '10.20.0.0/16'), '10.20.0.0/16', []);
  assertTaken(await addRange(beta, '10.20.1.2/16'), 'equal, with host bits', []);
  assertTaken(await addRange(beta, '10.20.5.0/24'), '10.20.5.0/24', ['10.20.0.0/16']);
  assertTaken(await addRange(beta, '10.20.5.7'), '10.20.5.7', ['10.20.0.0/16']);
  assertTaken(await addRange(beta, '10.20.255.255/32'), 'the last address', ['10.20.0.0/16']);
  // Around: beta holds a /24, alpha's /16 around it is refused.
  await owned(beta, '10.31.7.0/24');
  assertTaken(await addRange(alpha, '10.31.0.0/16'), '10.31.0.0/16', ['10.31.7.0/24']);
  assert.equal((await owned(beta, '10.21.0.0/16')).address, '10.21.0.0/16');
  assert.equal((await owned(beta, '10.19.255.0/24')).address, '10.19.255.0/24');
  assert.deepEqual(await liveRanges(beta), ['10.31.7.0/24', '10.21.0.0/16', '10.19.255.0/24']);
});

test('IPv6: nested and equal ranges of another account are 409; the next /48 is free', async () => {
  await owned(alpha, '2001:db8:1::/48');
  assertTaken(await addRange(beta, '2001:db8:1::/48'), 'equal', []);
  assertTaken(await addRange(beta, '2001:0db8:0001:0000::/48'), 'equal, long spelling', []);
  assertTaken(await addRange(beta, '2001:db8:1:2::/64'), 'inside', ['2001:db8:1::/48']);
  assertTaken(await addRange(beta, '2001:db8:1:2::5'), 'one address', ['2001:db8:1::/48']);
  await owned(beta, '2001:db8:2:7::/64');
  assertTaken(await addRange(alpha, '2001:db8:2::/48'), 'around', ['2001:db8:2:7::/64']);
  await owned(beta, '2001:db8:3::/48');
});

test('IPv4-mapped IPv6 is the IPv4 range it is', async () => {
  await owned(alpha, '10.22.0.0/16');
  assertTaken(await addRange(beta, '::ffff:10.22.3.4'), '::ffff:10.22.3.4', ['10.22.0.0/16']);
  assertTaken(await addRange(beta, '::ffff:10.22.0.0/120'), '::ffff:10.22.0.0/120', ['10.22.0.0/16']);
  const mapped = await owned(beta, '::ffff:10.23.0.0/112');
  assert.equal(mapped.address, '10.23.0.0/16', 'stored as the IPv4 range');
  assertTaken(await addRange(alpha, '10.23.1.0/24'), '10.23.1.0/24', ['10.23.0.0/16']);
  assertTaken(await addRange(alpha, '::ffff:a17:101'), 'hex spelling of 10.23.1.1', ['10.23.0.0/16']);
});

test('ranges of one account may overlap each other', async () => {
  await owned(alpha, '10.24.0.0/16');
  await owned(alpha, '10.24.0.0/16');
  await owned(alpha, '10.24.9.0/24');
  await owned(alpha, '10.24.9.9');
  const mine = await liveRanges(alpha);
  assert.equal(mine.filter((range) => range.startsWith('10.24.')).length, 4);
});

test('three accounts: the third finds both others\' ranges taken, and its own is then taken for them', async () => {
  await owned(alpha, '10.25.0.0/16');
  await owned(beta, '10.26.0.0/16');
  assertTaken(await addRange(gamma, '10.25.128.0/17'), 'alpha\'s', ['10.25.0.0/16']);
  assertTaken(await addRange(gamma, '10.26.0.1'), 'beta\'s', ['10.26.0.0/16']);
  await owned(gamma, '10.27.0.0/16');
  assertTaken(await addRange(alpha, '10.27.3.0/24'), 'gamma\'s, for alpha', ['10.27.0.0/16']);
  assertTaken(await addRange(beta, '10.27.3.3'), 'gamma\'s, for beta', ['10.27.0.0/16']);
  assert.deepEqual(await liveRanges(gamma), ['10.27.0.0/16']);
});

test('ranges wider than the limits are 422 naming the limit; every address (/0) never passes', async () => {
  const before = await liveRanges(gamma);
  const cases: [string, string, string][] = [
    ['10.0.0.0/15', '/16', 'MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V4'],
    ['0.0.0.0/0', '/16', 'MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V4'],
    ['10.1.2.3/8', '/16', 'MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V4'],
    ['::ffff:0.0.0.0/96', '/16', 'MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V4'],
    ['::/0', '/48', 'MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V6'],
    ['2001:db8::/47', '/48', 'MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V6'],
  ];
  for (const [address, limit, setting] of cases) {
    const answer = await addRange(gamma, address);
    assert.equal(answer.status, 422, `${address}: ${JSON.stringify(answer)}`);
    assert.equal(answer.error.code, 'IP_RANGE_TOO_WIDE');
    assert.ok(answer.error.message.includes(`wider than ${limit}`) && answer.error.message.includes(setting), answer.error.message);
    assert.equal(answer.error.details[0]?.field, 'address');
  }
  assert.deepEqual(await liveRanges(gamma), before, 'nothing was stored');
  for (const address of ['fe80::1%eth0', '10.0.0.0/33', '10.0.0.256']) {
    assert.equal((await addRange(gamma, address)).status, 400, address);
  }
  // At the limit is fine; the settings cannot allow /0.
  await owned(gamma, '10.28.0.0/16');
  await owned(gamma, '2001:db8:4::/48');
  for (const [name, value] of [['MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V4', '0'], ['MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V6', '0'], ['MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V4', '33'], ['MAILROOM_IP_CREDENTIALS', 'closed']]) {
    assert.throws(() => loadConfig({ env: { [name!]: value! }, cwd: store.settings.dataDir }), new RegExp(`invalid ${name}`));
  }
});

test('a revoked range frees its addresses for another account', async () => {
  const wide = await owned(alpha, '10.29.0.0/16');
  const narrow = await owned(alpha, '10.29.4.0/24');
  assertTaken(await addRange(beta, '10.29.4.4'), 'while alpha holds it', ['10.29.0.0/16', '10.29.4.0/24']);
  assert.equal((await app.api(`/smtp-credentials/${wide.id}`, { method: 'DELETE' })).status, 200);
  assertTaken(await addRange(beta, '10.29.4.4'), 'inside the /24 alpha still holds', ['10.29.4.0/24']);
  assert.equal((await owned(beta, '10.29.5.0/24')).address, '10.29.5.0/24');
  assert.equal((await app.api(`/smtp-credentials/${narrow.id}`, { method: 'DELETE' })).status, 200);
  await owned(beta, '10.29.4.4');
  assertTaken(await addRange(alpha, '10.29.0.0/16'), 'now beta\'s', ['10.29.5.0/24', '10.29.4.4/32']);
});

test('simultaneous overlapping POSTs of two accounts: exactly one account ends up owning the addresses', async () => {
  // On PostgreSQL a second Mailroom on the same database, so that the requests race on two
  // processes' connection pools; PGlite is one process's database.
  const second = onPostgres ? await startTestApp({ MAILROOM_ROLES: 'api' }, { store }) : app;
  try {
    for (let round = 0; round < 3; round++) {
      const base = `10.${40 + round}`;
      const ranges = [`${base}.0.0/16`, `${base}.7.0/24`, `${base}.7.7`, `${base}.128.0/17`, `${base}.7.0/25`, `::ffff:${base}.7.9`];
      const attempts = ranges.flatMap((range, index) => [
        { key: alpha, range, target: index % 2 === 0 ? app : second },
        { key: beta, range, target: index % 2 === 0 ? second : app },
      ]);
      const answers = await Promise.all([...attempts, ...attempts].map(async (attempt) => ({ ...attempt, answer: await addRange(attempt.key, attempt.range, attempt.target) })));
      const winners = new Set(answers.filter((entry) => entry.answer.status === 201).map((entry) => entry.key));
      assert.equal(winners.size, 1, `round ${round}: ${winners.size} accounts own addresses in ${base}.0.0/16`);
      for (const entry of answers) {
        assert.equal(entry.answer.status, winners.has(entry.key) ? 201 : 409, `round ${round}, ${entry.range}: ${JSON.stringify(entry.answer)}`);
      }
      const [winner] = [...winners];
      const loser = winner === alpha ? beta : alpha;
      assert.equal((await liveRanges(winner!)).filter((range) => range.startsWith(`${base}.`)).length, ranges.length * 2);
      assert.deepEqual((await liveRanges(loser)).filter((range) => range.startsWith(`${base}.`)), []);
    }
  } finally {
    if (second !== app) await second.stop();
  }
});
