import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { countOf, createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';
import { createServer, type Server } from 'node:net';

/**
 * A receiving server's reply is outside input, and results are recorded in batches: a reply with
 * a NUL in it (which PostgreSQL's text cannot hold) must not fail the statement that records it
 * and every other result of its batch (those messages would be sent again). It is kept with the
 * NUL replaced, and the others are recorded once.
 */
let store: TestStore;
let relay: Server;
let app: TestApp;
let accepted = 0;

/**
 * A receiving server written at the byte level: SMTP libraries clean what they send (smtp-server
 * turns a NUL into a space), a hostile server does not. It refuses nul@... with a NUL in the text.
 */
function startHostileRelay(): Promise<number> {
  relay = createServer((socket) => {
    let buffer = '';
    let inData = false;
    let recipients = 0;
    socket.write('220 hostile.test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            accepted++;
            socket.write('250 2.0.0 queued\r\n');
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250-hostile.test\r\n250 PIPELINING\r\n');
        else if (verb === 'MAIL' || verb === 'RSET') {
          recipients = 0;
          socket.write('250 ok\r\n');
        } else if (verb === 'RCPT') {
          if (/nul@/i.test(line)) socket.write('550 5.1.1 <nul@example.com> no\u0000such user\r\n');
          else {
            recipients++;
            socket.write('250 2.1.5 ok\r\n');
          }
        } else if (verb === 'DATA' && recipients === 0) socket.write('554 5.5.1 no valid recipients\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go on\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => relay.listen(0, '127.0.0.1', () => resolve((relay.address() as { port: number }).port)));
}

before(async () => {
  const port = await startHostileRelay();
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  app = await startTestApp({ MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: `smtp://127.0.0.1:${port}?starttls=off` }, { store });
});
after(async () => {
  await app.stop();
  await store.dispose();
  relay.close();
});

test('a reply with a NUL is recorded (NUL replaced), and so is every other result of its batch, once', async () => {
  const ids: string[] = [];
  const responses = await Promise.all(['nul@example.com', ...Array.from({ length: 20 }, (_, index) => `ok${index}@example.com`)].map((to) =>
    app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to } })));
  for (const response of responses) {
    assert.equal(response.status, 200);
    ids.push(((await response.json()) as { data: { id: string } }).data.id);
  }
  await eventually(async () => (await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM queue')) === 0 || undefined, 20_000, 'an empty queue');
  const [bounced] = ids;
  const events = ((await (await app.api(`/emails/${bounced}/events`)).json()) as { data: { type: string; details: { reply?: string } }[] }).data;
  const bounce = events.find((event) => event.type === 'BOUNCED');
  assert.ok(bounce, JSON.stringify(events));
  assert.match(bounce.details.reply ?? '', /no\uFFFDsuch user/);
  assert.equal(await countOf(app.mailroom.db, `SELECT count(*) AS n FROM messages WHERE id = ANY($1::text[]) AND status = 'SENT'`, [ids.slice(1)]), 20);
  assert.equal(accepted, 20, `each accepted message went to the relay once (${accepted})`);
});
