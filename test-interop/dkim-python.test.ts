/**
 * Interop: Mailroom's DKIM signatures checked by an independent verifier, Debian's python3-dkim
 * (dkimpy), with the public key given offline (its DNS function answers from the test). Run by
 * .ci/run, which installs python3-dkim; a missing peer is a failure, never a skip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { requireAccount } from '../src/accounts/accounts.js';
import { addDomain, dkimRecord, type Domain } from '../src/domains/domains.js';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../test/helpers/app.js';

const PYTHON = '/usr/bin/python3'; // Debian's, where python3-dkim is installed

const VERIFY = `
import sys, json, dkim
record = sys.argv[1].encode()
message = sys.stdin.buffer.read()
def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return record if name.rstrip('.') == sys.argv[2] else None
print(json.dumps({"ok": bool(dkim.verify(message, dnsfunc=dnsfunc))}))
`;

function verifyWithDkimpy(raw: string, record: string, name: string): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import dkim'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `python3-dkim is not installed for ${PYTHON}: run bash .ci/run, which installs it (${probe.stderr})`);
  const run = spawnSync(PYTHON, ['-c', VERIFY, record, name], { input: raw, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { ok: boolean }).ok;
}

let app: TestApp;
let domain: Domain;
before(async () => {
  app = await startTestApp();
  const account = await requireAccount(app.mailroom.db, 'default');
  domain = await addDomain(app.mailroom.db, app.mailroom.secrets, account.id, 'elipackage.com', { verified: true, selector: 'interop' });
});
after(() => app.stop());

test('python3-dkim verifies the signature of a message with UTF-8 headers, HTML and an attachment, and rejects a tampered copy', async () => {
  const response = await app.api('/emails', {
    method: 'POST',
    json: {
      ...SEED_REQUEST,
      from: 'Élise Package <promo@elipackage.com>',
      subject: 'Grüße – ✉ an offer for you',
      text: '<html><body><h1>Offer</h1><p>Line one</p><p>.a dot line</p></body></html>',
      cc: ['carol@example.com'],
      attachments: [{ filename: 'offer.txt', content: Buffer.from('a plain attachment\n').toString('base64') }],
    },
  });
  assert.equal(response.status, 200);
  const { data } = (await response.json()) as { data: { id: string } };
  const raw = await eventually(async () => {
    const list = (await (await app.api('/sandbox/messages')).json()) as { data: { id: number; messageId: string }[] };
    const entry = list.data.find((item) => item.messageId === data.id);
    return entry ? ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw : undefined;
  });
  const record = dkimRecord(domain.dkim_public_key);
  assert.equal(verifyWithDkimpy(raw, record, 'interop._domainkey.elipackage.com'), true);
  assert.equal(verifyWithDkimpy(raw.replace('Line one', 'Line 1'), record, 'interop._domainkey.elipackage.com'), false);
});
