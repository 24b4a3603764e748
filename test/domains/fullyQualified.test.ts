import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isFullyQualified } from '../../src/domains/settings.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** Issue 19: a domain's records name hosts the Internet can resolve, and say so when the configuration gives one it cannot. */
test('fully qualified host names', () => {
  for (const name of ['mail.example.com', 'mx1.example.co.uk', 'mail.example.com.']) assert.ok(isFullyQualified(name), name);
  for (const name of ['vm', '3f2a9c1b', 'localhost', 'mail.local', 'host.localdomain', 'db.internal', '', 'a..b', '-x.example com']) {
    assert.ok(!isFullyQualified(name), `${JSON.stringify(name)} is not`);
  }
});

interface ShownRecord { purpose: string; name: string; value: string; warning?: string }
const apps: TestApp[] = [];
after(() => Promise.all(apps.map((app) => app.stop())));
async function recordsWith(env: Record<string, string>, domain: string): Promise<ShownRecord[]> {
  const app = await startTestApp(env);
  apps.push(app);
  const created = await app.api('/domains', { method: 'POST', json: { domain } });
  assert.ok(created.status < 300, await created.clone().text());
  return ((await created.json()) as { data: { records: ShownRecord[] } }).data.records;
}

let bare: ShownRecord[];
let qualified: ShownRecord[];
before(async () => {
  bare = await recordsWith({ MAILROOM_HELO_NAME: 'vm', MAILROOM_MX_HOSTNAME: '', MAILROOM_SMTP_HOSTNAME: '' }, 'bare.example');
  qualified = await recordsWith({ MAILROOM_HELO_NAME: 'out.mailroom.example', MAILROOM_MX_HOSTNAME: 'mx.mailroom.example' }, 'qualified.example');
});

test('a host name without a dot: the SPF and return-path records carry a warning naming the setting', () => {
  const spf = bare.find((record) => record.purpose === 'spf');
  const mx = bare.find((record) => record.purpose === 'return-path');
  assert.match(spf?.warning ?? '', /"vm" .*not a fully qualified host name.*MAILROOM_HELO_NAME/);
  assert.match(mx?.warning ?? '', /"vm" .*not a fully qualified host name.*MAILROOM_MX_HOSTNAME/);
  for (const record of bare) assert.match(record.name, /(^|\.)bare\.example$/, 'record names are fully qualified names in the domain');
});

test('fully qualified names: records point at them, with no warning', () => {
  assert.deepEqual(qualified.filter((record) => record.warning !== undefined), []);
  assert.equal(qualified.find((record) => record.purpose === 'return-path')?.value, 'mx.mailroom.example');
  assert.match(qualified.find((record) => record.purpose === 'spf')?.value ?? '', /a:out\.mailroom\.example/);
});
