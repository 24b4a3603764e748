import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const made: string[] = [];
const cwd = () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-config-'));
  made.push(dir);
  return dir;
};
after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test('defaults follow SPEC section 1', () => {
  const dir = cwd();
  const config = loadConfig({ env: {}, cwd: dir });
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.httpPort, 3000);
  assert.equal(config.smtpPort, 2587);
  assert.equal(config.smtpsPort, 2465);
  assert.equal(config.mxPort, 2525);
  assert.equal(config.transport, 'sandbox');
  assert.equal(config.mxDeliveryPort, 25);
  assert.equal(config.publicUrl, 'http://127.0.0.1:3000');
  assert.equal(config.databaseUrl, '');
  assert.equal(config.dataDir, join(dir, 'data'));
  assert.deepEqual(config.roles, ['api', 'smtp', 'worker', 'mx']);
  assert.deepEqual(config.dnsServers, []);
});

test('environment values are parsed and typed', () => {
  const config = loadConfig({
    cwd: cwd(),
    env: {
      MAILROOM_HTTP_PORT: '8080',
      MAILROOM_DATABASE_URL: 'postgres://u@db:5432/mail',
      MAILROOM_TRANSPORT: 'relay',
      MAILROOM_RELAY_URL: 'smtps://u:p@relay.example:465',
      MAILROOM_DNS_SERVERS: '127.0.0.1:5353, [::1]:53',
      MAILROOM_SMTP_INSECURE_AUTH: 'yes',
      MAILROOM_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      MAILROOM_ROLES: 'api,worker',
    },
  });
  assert.equal(config.httpPort, 8080);
  assert.equal(config.databaseUrl, 'postgres://u@db:5432/mail');
  assert.equal(config.transport, 'relay');
  assert.deepEqual(config.dnsServers, ['127.0.0.1:5353', '[::1]:53']);
  assert.equal(config.smtpInsecureAuth, true);
  assert.equal(config.encryptionKey?.length, 32);
  assert.deepEqual(config.roles, ['api', 'worker']);
});

test('a config file is read (camelCase or variable names); the environment wins; overrides win over both', () => {
  const dir = cwd();
  writeFileSync(join(dir, 'mailroom.config.json'), JSON.stringify({ httpPort: 4000, MAILROOM_SMTP_PORT: 2600, publicUrl: 'https://mail.example.com/' }));
  const config = loadConfig({ cwd: dir, env: { MAILROOM_SMTP_PORT: '2700' }, overrides: { roles: 'worker' } });
  assert.equal(config.httpPort, 4000);
  assert.equal(config.smtpPort, 2700);
  assert.equal(config.publicUrl, 'https://mail.example.com');
  assert.deepEqual(config.roles, ['worker']);

  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ httpPort: 5000 }));
  assert.equal(loadConfig({ cwd: dir, env: {}, configFile: 'other.json' }).httpPort, 5000);
});

const BAD: [string, Record<string, string>, RegExp][] = [
  ['port not a number', { MAILROOM_HTTP_PORT: 'abc' }, /^invalid MAILROOM_HTTP_PORT \(environment\): expected an integer from 0 to 65535, got "abc"$/],
  ['port out of range', { MAILROOM_SMTP_PORT: '70000' }, /^invalid MAILROOM_SMTP_PORT/],
  ['unknown transport', { MAILROOM_TRANSPORT: 'pigeon' }, /^invalid MAILROOM_TRANSPORT .*expected one of sandbox, mx, relay, ses/],
  ['database URL of another kind', { MAILROOM_DATABASE_URL: 'mysql://x' }, /^invalid MAILROOM_DATABASE_URL/],
  ['relay without URL', { MAILROOM_TRANSPORT: 'relay' }, /^invalid MAILROOM_RELAY_URL: required when MAILROOM_TRANSPORT=relay$/],
  ['relay URL not smtp', { MAILROOM_RELAY_URL: 'http://x' }, /^invalid MAILROOM_RELAY_URL/],
  ['encryption key too short', { MAILROOM_ENCRYPTION_KEY: 'c2hvcnQ=' }, /^invalid MAILROOM_ENCRYPTION_KEY .*32 bytes/],
  ['bad DNS server list', { MAILROOM_DNS_SERVERS: 'not a host!' }, /^invalid MAILROOM_DNS_SERVERS/],
  ['unknown role', { MAILROOM_ROLES: 'api,cook' }, /^invalid MAILROOM_ROLES .*"cook"/],
  ['bad flag', { MAILROOM_SMTP_INSECURE_AUTH: 'maybe' }, /^invalid MAILROOM_SMTP_INSECURE_AUTH/],
  ['bad public URL', { MAILROOM_PUBLIC_URL: 'mail.example.com' }, /^invalid MAILROOM_PUBLIC_URL/],
];

for (const [name, env, message] of BAD) {
  test(`a bad setting stops start-up with one line naming it: ${name}`, () => {
    assert.throws(() => loadConfig({ cwd: cwd(), env }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });
}

test('previous encryption keys: base64 keys separated by commas; a bad one is named by position, and no key is repeated in the error', () => {
  const [a, b] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
  const config = loadConfig({ cwd: cwd(), env: { MAILROOM_ENCRYPTION_KEYS_PREVIOUS: `${a.toString('base64')}, ${b.toString('base64')}` } });
  assert.deepEqual(config.encryptionKeysPrevious, [a, b]);
  assert.deepEqual(loadConfig({ cwd: cwd(), env: {} }).encryptionKeysPrevious, []);
  assert.throws(() => loadConfig({ cwd: cwd(), env: { MAILROOM_ENCRYPTION_KEYS_PREVIOUS: `${a.toString('base64')},c2hvcnQ=` } }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, 'invalid MAILROOM_ENCRYPTION_KEYS_PREVIOUS (environment): key 2: expected 32 bytes encoded in base64, got (value not shown)');
    return true;
  });
});

test('config file errors name the file and the setting', () => {
  const dir = cwd();
  writeFileSync(join(dir, 'mailroom.config.json'), JSON.stringify({ httpPortt: 1 }));
  assert.throws(() => loadConfig({ cwd: dir, env: {} }), /mailroom\.config\.json: unknown setting "httpPortt"/);
  writeFileSync(join(dir, 'mailroom.config.json'), '{ not json');
  assert.throws(() => loadConfig({ cwd: dir, env: {} }), /mailroom\.config\.json: invalid JSON/);
  writeFileSync(join(dir, 'mailroom.config.json'), JSON.stringify({ httpPort: 'x' }));
  assert.throws(() => loadConfig({ cwd: dir, env: {} }), /invalid MAILROOM_HTTP_PORT \(config file .*mailroom\.config\.json\)/);
  assert.throws(() => loadConfig({ cwd: dir, env: {}, configFile: 'missing.json' }), /missing\.json: not found/);
});

test('a bad secret setting is never echoed, and a bad URL is shown with its password masked', () => {
  const message = (env: Record<string, string>): string => {
    try {
      loadConfig({ cwd: cwd(), env });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    assert.fail('expected a ConfigError');
  };
  const token = message({ MAILROOM_METRICS_TOKEN: 'short secret' });
  assert.match(token, /^invalid MAILROOM_METRICS_TOKEN/);
  assert.ok(!token.includes('short secret'), token);
  const database = message({ MAILROOM_DATABASE_URL: 'mysql://app:s3cr3t-pw@db.internal:3306/mail' });
  assert.equal(database, 'invalid MAILROOM_DATABASE_URL (environment): expected a URL (postgres or postgresql), got mysql:, got "mysql://app:***@db.internal:3306/mail"');
  const relay = message({ MAILROOM_RELAY_URL: 'http://user:hunter2@relay.example' });
  assert.ok(!relay.includes('hunter2') && relay.includes('user:***@'), relay);
});
