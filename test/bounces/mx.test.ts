import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_REQUEST, eventually, type TestApp } from '../helpers/app.js';
import { BOUNCE_DOMAIN, startBounceLoop, type BounceLoop } from '../helpers/bounceLoop.js';
import { countOf } from '../helpers/database.js';

/**
 * The whole bounce loop with real parts: Mailroom delivers over SMTP to a local MX sink (found
 * through a DNS server started here), then a real SMTP client (Nodemailer) delivers reports to
 * Mailroom's inbound MX: a DSN to the VERP Return-Path the sink saw, a feedback-loop complaint
 * quoting the original, and forgeries that must change nothing.
 */
let loop: BounceLoop;
let app: TestApp;
let sink: BounceLoop['sink'];

before(async () => {
  loop = await startBounceLoop((address) => (address.startsWith('nobody') ? [550, '5.1.1 <nobody>: Recipient address rejected: User unknown in virtual mailbox table'] : null));
  ({ app, sink } = loop);
});
after(async () => loop?.stop());

interface EventBody {
  type: string;
  details: Record<string, unknown>;
}

async function send(to: string): Promise<{ id: string; status: string; reason?: string; suppressionReason?: string }> {
  const response = await app.api('/emails', { method: 'POST', json: { ...SEED_REQUEST, to } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string; status: string } }).data;
}

async function events(id: string): Promise<EventBody[]> {
  return ((await (await app.api(`/emails/${id}/events`)).json()) as { data: EventBody[] }).data;
}

async function status(id: string): Promise<string> {
  return ((await (await app.api(`/emails/${id}`)).json()) as { data: { status: string } }).data.status;
}

/** Sends to `to` and waits until the sink has it; answers the message id and its VERP Return-Path. */
async function delivered(to: string): Promise<{ id: string; verp: string }> {
  const { id } = await send(to);
  await eventually(async () => (await status(id)) === 'DELIVERED', 15_000, `${id} DELIVERED`);
  const sunk = sink.messages.find((message) => message.to.includes(to))!;
  return { id, verp: sunk.from };
}

const deliverReport = (to: string, raw: string) => loop.deliverReport(to, raw);

function dsn(recipient: string, status: string, diagnostic: string, returnPath: string): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>',
    `To: ${returnPath}`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"',
    '',
    '--BOUNDARY',
    'Content-Type: text/plain',
    '',
    'I\'m sorry to have to inform you that your message could not be delivered.',
    '',
    '--BOUNDARY',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.customer.test',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    `Status: ${status}`,
    'Remote-MTA: dns; mailstore.customer.test',
    `Diagnostic-Code: smtp; ${diagnostic}`,
    '',
    '--BOUNDARY',
    'Content-Type: text/rfc822-headers',
    '',
    `Return-Path: <${returnPath}>`,
    'From: promo@elipackage.com',
    `To: ${recipient}`,
    'Subject: EliPackage Promo',
    '',
    '--BOUNDARY--',
    '',
  ].join('\r\n');
}

function complaint(recipient: string, returnPath: string): string {
  return [
    'From: Feedback Loop <fbl@isp.test>',
    `To: fbl@${BOUNCE_DOMAIN}`,
    'Subject: Abuse report',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"',
    '',
    '--ARF',
    'Content-Type: text/plain',
    '',
    'This is an email abuse report.',
    '',
    '--ARF',
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: ISP-FBL/1.0',
    'Version: 1',
    `Original-Rcpt-To: ${recipient}`,
    '',
    '--ARF',
    'Content-Type: message/rfc822',
    '',
    `Return-Path: <${returnPath}>`,
    'From: promo@elipackage.com',
    `To: ${recipient}`,
    'Subject: EliPackage Promo',
    '',
    'we have a new offer this week',
    '',
    '--ARF--',
    '',
  ].join('\r\n');
}

async function suppression(address: string): Promise<{ reason: string; messageId: string | null } | null> {
  const response = await app.api(`/suppressions/${encodeURIComponent(address)}`);
  if (response.status === 404) return null;
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: { reason: string; messageId: string | null } }).data;
}

test('a DSN to the VERP address turns the message BOUNCED, suppresses the address, and the next send is REJECTED', async () => {
  const { id, verp } = await delivered('alice@customer.test');
  assert.match(verp, new RegExp(`^bounces\\+${id.toLowerCase()}-0-[0-9a-z]{10}@${BOUNCE_DOMAIN.replace(/\./g, '\\.')}$`));

  const reply = await deliverReport(verp, dsn('alice@customer.test', '5.1.1', '550 5.1.1 <alice@customer.test>: Recipient address rejected: User unknown', verp));
  assert.ok(reply.accepted, reply.response);
  assert.match(reply.response, /BOUNCED/);

  assert.equal(await status(id), 'BOUNCED');
  const bounced = (await events(id)).find((event) => event.type === 'BOUNCED')!;
  assert.equal(bounced.details.bounceClass, 'HARD');
  assert.equal(bounced.details.reason, 'userunknown');
  assert.equal(bounced.details.enhancedCode, '5.1.1');
  assert.equal(bounced.details.recipient, 'alice@customer.test');
  const entry = await suppression('alice@customer.test');
  assert.equal(entry?.reason, 'HARD_BOUNCE');
  assert.equal(entry?.messageId, id);

  const next = await send('Alice@Customer.test');
  assert.equal(next.status, 'REJECTED');
  assert.equal(next.reason, 'SUPPRESSED');
  assert.equal(next.suppressionReason, 'HARD_BOUNCE');
  const rejected = (await events(next.id)).find((event) => event.type === 'REJECTED')!;
  assert.equal(rejected.details.reason, 'SUPPRESSED');
  assert.deepEqual((rejected.details.suppression as { reason: string; messageId: string }).messageId, id);
  assert.equal(await countOf(app.mailroom.db, 'SELECT count(*) AS n FROM queue WHERE message_id = $1', [next.id]), 0, 'a rejected message is not queued');

  // The same DSN again (senders resend) records nothing more.
  const again = await deliverReport(verp, dsn('alice@customer.test', '5.1.1', '550 5.1.1 User unknown', verp));
  assert.ok(again.accepted);
  assert.match(again.response, /already BOUNCED/);
  assert.equal((await events(id)).filter((event) => event.type === 'BOUNCED').length, 1);
});

test('a DSN with a forged VERP token is refused at RCPT and changes nothing', async () => {
  const { id, verp } = await delivered('bob@customer.test');
  const at = verp.indexOf('@');
  const mac = verp.slice(at - 10, at);
  const forgedMac = `${verp.slice(0, at - 10)}${mac.slice(0, 9)}${mac[9] === 'a' ? 'b' : 'a'}${verp.slice(at)}`;
  const otherMessage = verp.replace(id.toLowerCase(), `${id.toLowerCase().slice(0, 21)}${id.toLowerCase()[21] === '0' ? '1' : '0'}`);
  for (const forged of [forgedMac, otherMessage, `bounces+${id.toLowerCase()}-0-aaaaaaaaaa@${BOUNCE_DOMAIN}`]) {
    const reply = await deliverReport(forged, dsn('bob@customer.test', '5.1.1', '550 5.1.1 User unknown', forged));
    assert.equal(reply.accepted, false, forged);
    assert.match(reply.response, /^550 5\.1\.1/);
  }
  // A complaint quoting a forged Return-Path is taken (the feedback mailbox exists) but matches nothing.
  const quoted = await deliverReport(`fbl@${BOUNCE_DOMAIN}`, complaint('bob@customer.test', forgedMac));
  assert.ok(quoted.accepted);
  assert.match(quoted.response, /matched no message/);
  assert.equal(await status(id), 'DELIVERED');
  assert.equal(await suppression('bob@customer.test'), null);
});

test('the MX is not a relay: any other recipient is refused at RCPT', async () => {
  for (const address of ['someone@gmail.com', `postmaster@${BOUNCE_DOMAIN}`, 'fbl@elipackage.com', 'bounces+x@customer.test']) {
    const reply = await deliverReport(address, 'Subject: hi\r\n\r\nhello\r\n');
    assert.equal(reply.accepted, false, address);
    assert.match(reply.response, /^550 5\.1\.1/);
  }
});

test('a feedback-loop complaint turns the message COMPLAINED and suppresses the address', async () => {
  const { id, verp } = await delivered('carol@customer.test');
  const reply = await deliverReport(`fbl@${BOUNCE_DOMAIN}`, complaint('carol@customer.test', verp));
  assert.ok(reply.accepted, reply.response);
  assert.equal(await status(id), 'COMPLAINED');
  const event = (await events(id)).find((entry) => entry.type === 'COMPLAINED')!;
  assert.equal(event.details.feedbackType, 'abuse');
  assert.equal((await suppression('carol@customer.test'))?.reason, 'COMPLAINT');
});

test('a soft bounce (mailbox full) is recorded but does not suppress; an auto-reply records nothing', async () => {
  const { id, verp } = await delivered('dave@customer.test');
  const vacation = await deliverReport(verp, 'From: dave@customer.test\r\nTo: promo@elipackage.com\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n');
  assert.ok(vacation.accepted);
  assert.match(vacation.response, /not a bounce/);
  assert.equal(await status(id), 'DELIVERED');

  const reply = await deliverReport(verp, dsn('dave@customer.test', '5.2.2', '552 5.2.2 Mailbox full: quota exceeded', verp));
  assert.ok(reply.accepted, reply.response);
  assert.equal(await status(id), 'BOUNCED');
  const event = (await events(id)).find((entry) => entry.type === 'BOUNCED')!;
  assert.equal(event.details.bounceClass, 'SOFT');
  assert.equal(event.details.reason, 'mailboxfull');
  assert.equal(await suppression('dave@customer.test'), null);
  assert.equal((await send('dave@customer.test')).status, 'QUEUED');
});

test('a hard bounce during delivery suppresses the address too', async () => {
  const { id } = await send('nobody@customer.test');
  await eventually(async () => (await status(id)) === 'BOUNCED', 15_000, 'BOUNCED');
  assert.equal((await suppression('nobody@customer.test'))?.reason, 'HARD_BOUNCE');
  assert.equal((await send('nobody@customer.test')).status, 'REJECTED');
});

test('a DSN whose diagnostic holds a NUL is recorded (the NUL replaced), not answered 451 for ever', async () => {
  const { id, verp } = await delivered('nulreport@customer.test');
  const result = await deliverReport(verp, dsn('nulreport@customer.test', '5.1.1', '550 5.1.1 no such\u0000user', verp));
  assert.equal(result.accepted, true, result.response);
  await eventually(async () => (await status(id)) === 'BOUNCED', 15_000, `${id} BOUNCED`);
  const bounce = (await events(id)).find((event) => event.type === 'BOUNCED');
  assert.match(JSON.stringify(bounce?.details ?? {}), /no such\\ufffduser|no such\uFFFDuser/);
});
