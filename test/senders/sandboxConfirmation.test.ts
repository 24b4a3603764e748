import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { ManualClock } from '../../src/shared/clock.js';
import { eventually, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestStore, type TestStore } from '../helpers/database.js';
import { prepareStore } from '../helpers/process.js';
import { startSmtpSink } from '../helpers/smtpSink.js';

/**
 * With the default sandbox transport, a sender's confirmation mail lands in the requester's own
 * catcher, so anyone with a key can "confirm" any address there. Such a confirmation must not
 * count once mail really leaves: the same data restarted with the relay transport refuses the
 * address (SENDER_NOT_VERIFIED) until a real link, mailed by a resend, is clicked. Addresses of
 * a verified domain are unaffected.
 */
const PUBLIC_URL = 'https://mail.shop.example';
const VICTIM = 'ceo@bank.example';
let store: TestStore;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
const clock = new ManualClock(new Date('2026-05-04T09:00:00Z'));

before(async () => {
  store = await createTestStore();
  await prepareStore(store, ['elipackage.com']);
  sink = await startSmtpSink();
});
after(async () => {
  await sink.close();
  await store.dispose();
});

interface Sender { id: number; email: string; verified: boolean; verifiedBy: string | null; reason: string | null }

const senderOf = async (app: TestApp, id: number) => ((await (await app.api(`/senders/${id}`)).json()) as { data: Sender }).data;
const sendFrom = (app: TestApp, from: string) => app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, callbacks: [], from } });
/** Opens a link on this app (the public URL names another host, as it would behind a proxy). */
const click = (app: TestApp, link: string) => fetch(link.replace(PUBLIC_URL, app.url), { method: 'POST' });

function linkIn(text: string | undefined): string | undefined {
  return /https:\/\/mail\.shop\.example\/senders\/confirm\/\S+/.exec(text ?? '')?.[0];
}

test('a confirmation clicked in the sandbox catcher does not count under the relay transport; a real one does', async () => {
  let senderId: number;
  let sandboxLink: string;
  // 1. Sandbox mode (the default): the link is read from the requester's own catcher.
  const sandbox = await startTestApp({ MAILROOM_PUBLIC_URL: PUBLIC_URL }, { store, clock });
  try {
    const added = await sandbox.api('/senders', { method: 'POST', json: { email: VICTIM } });
    assert.equal(added.status, 201);
    senderId = ((await added.json()) as { data: Sender }).data.id;
    sandboxLink = await eventually(async () => {
      sandbox.mailroom.worker?.wakeUp();
      const list = (await (await sandbox.api('/sandbox/messages')).json()) as { data: { id: number; envelope: { to: string[] } }[] };
      const caught = list.data.find((entry) => entry.envelope.to.includes(VICTIM));
      if (!caught) return undefined;
      const raw = ((await (await sandbox.api(`/sandbox/messages/${caught.id}`)).json()) as { data: { raw: string } }).data.raw;
      return linkIn((await simpleParser(raw)).text);
    }, 15_000, 'the confirmation in the catcher');
    assert.equal((await click(sandbox, sandboxLink)).status, 200);
    const confirmed = await senderOf(sandbox, senderId);
    assert.deepEqual([confirmed.verified, confirmed.verifiedBy, confirmed.reason], [true, 'sandbox', null], 'while nothing leaves the machine, it may send');
    const sent = await sendFrom(sandbox, VICTIM);
    assert.equal(sent.status, 200);
    // Caught before this process stops: a message still queued would be delivered by the relay
    // process below, and this test is about what that process lets through, not about leftovers.
    const sentId = ((await sent.json()) as { data: { id: string } }).data.id;
    await eventually(async () => {
      sandbox.mailroom.worker?.wakeUp();
      const shown = (await (await sandbox.api(`/emails/${sentId}`)).json()) as { data: { status: string } };
      return shown.data.status === 'DELIVERED';
    }, 15_000, 'the sandbox delivery of the message sent while confirmed');
  } finally {
    await sandbox.stop();
  }

  // 2. The same data, now relaying for real.
  clock.advance(61_000);
  const relay = await startTestApp({ MAILROOM_PUBLIC_URL: PUBLIC_URL, MAILROOM_TRANSPORT: 'relay', MAILROOM_RELAY_URL: sink.url }, { store, clock });
  try {
    const shown = await senderOf(relay, senderId);
    assert.equal(shown.verified, false);
    assert.equal(shown.verifiedBy, 'sandbox');
    assert.match(shown.reason ?? '', /sandbox mode.*relay transport.*resend/);
    const listed = ((await (await relay.api('/senders')).json()) as { data: Sender[] }).data.find((entry) => entry.id === senderId);
    assert.equal(listed?.verified, false, 'GET /senders says so too');

    const refused = await sendFrom(relay, VICTIM);
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'SENDER_NOT_VERIFIED');
    assert.equal(sink.messages.length, 0, 'nothing left from the unconfirmed address');
    // The sandbox link was used; clicking it again confirms nothing.
    await click(relay, sandboxLink);
    assert.equal((await senderOf(relay, senderId)).verified, false);

    // Domain verification by DNS is unaffected: an address of the verified domain sends.
    assert.equal((await sendFrom(relay, 'promo@elipackage.com')).status, 200);

    // 3. A resend mails a real link, through the relay; clicking it confirms for real.
    const resent = await relay.api(`/senders/${senderId}/resend`, { method: 'POST' });
    assert.equal(resent.status, 200, await resent.clone().text());
    const realLink = await eventually(async () => {
      relay.mailroom.worker?.wakeUp();
      const mail = sink.messages.find((message) => message.to.includes(VICTIM));
      return mail ? linkIn((await simpleParser(mail.raw)).text) : undefined;
    }, 15_000, 'the confirmation at the relay');
    assert.notEqual(realLink, sandboxLink);
    const page = await click(relay, realLink);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Address confirmed/);
    const real = await senderOf(relay, senderId);
    assert.deepEqual([real.verified, real.verifiedBy, real.reason], [true, 'link', null]);
    assert.equal((await sendFrom(relay, VICTIM)).status, 200);
  } finally {
    await relay.stop();
  }
});
