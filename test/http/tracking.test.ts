import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { eventually, SEED_REQUEST, startTestApp, type TestApp } from '../helpers/app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';

/**
 * Tracking and unsubscribe end to end with real parts: a message sent through the API is
 * delivered into the sandbox catcher, its links are read from the delivered MIME, and each is
 * followed over HTTP like a mail client or a reader would. The events reach the message's
 * event list and a subscribed webhook on a real receiver.
 */
let app: TestApp;
let receiver: WebhookReceiver;
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2048, 0x42)]);

before(async () => {
  receiver = await startWebhookReceiver();
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
  const hook = await app.api('/webhooks', { method: 'POST', json: { url: `${receiver.base}/engagement`, eventTypes: ['OPENED', 'CLICKED', 'UNSUBSCRIBED'] } });
  assert.equal(hook.status, 201, await hook.clone().text());
});
after(async () => {
  await app.stop();
  await receiver.close();
});

interface EventView { id: number; type: string; details: Record<string, unknown> }

async function send(fields: Record<string, unknown>, query = ''): Promise<string> {
  const response = await app.api(`/emails${query}`, { method: 'POST', json: { ...SEED_REQUEST, callbacks: [], ...fields } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { data: { id: string } }).data.id;
}

/** The message as the sandbox caught it, once delivered. */
async function delivered(id: string): Promise<ParsedMail> {
  const entry = await eventually(async () => {
    const list = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; messageId: string }[] };
    return list.data.find((caught) => caught.messageId === id);
  }, 20_000, `${id} caught`);
  const raw = ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
  return simpleParser(Buffer.from(raw, 'utf8'));
}

async function events(id: string, type?: string): Promise<EventView[]> {
  const all = ((await (await app.api(`/emails/${id}/events`)).json()) as { data: EventView[] }).data;
  return type ? all.filter((event) => event.type === type) : all;
}

/** A URL from the message, aimed at this test's server (MAILROOM_PUBLIC_URL names another port). */
function local(url: string): string {
  const parsed = new URL(url);
  return `${app.url}${parsed.pathname}${parsed.search}`;
}

function hrefs(html: string): string[] {
  return [...html.matchAll(/href="([^"]+)"/g)].map((match) => match[1]!);
}

describe('a marketing message with tracking and attachments', () => {
  let id: string;
  let mail: ParsedMail;
  const html = '<html><body><p>Sale: <a href="https://shop.example/sale?x=1&amp;y=2">shop</a> <a href="https://shop.example/terms" data-mailroom-no-track>terms</a> <a href="mailto:help@shop.example">help</a></p></body></html>';

  before(async () => {
    id = await send({
      text: 'Sale: https://shop.example/sale', html, type: 'marketing', trackOpens: true, trackClicks: true,
      attachments: [{ filename: 'catalogue.pdf', content: PDF.toString('base64'), contentType: 'application/pdf' }],
    }, '?unsubscribeMsg=Stop%20these%20emails');
    mail = await delivered(id);
  });

  test('the delivered message: tracked links, the pixel, the unsubscribe link and header fields, text part and attachment untouched', () => {
    const links = hrefs(String(mail.html));
    assert.match(links[0]!, /^http:\/\/127\.0\.0\.1:3000\/t\/c\//, 'the tracked link, under MAILROOM_PUBLIC_URL');
    assert.equal(links[1], 'https://shop.example/terms', 'the opted-out link');
    assert.equal(links[2], 'mailto:help@shop.example');
    assert.match(links[3]!, /\/u\//);
    assert.match(String(mail.html), /<img src="http:\/\/127\.0\.0\.1:3000\/t\/o\/[^"]+\.gif"/);
    assert.ok(String(mail.html).includes('>Stop these emails</a>'));
    assert.equal(mail.text, `Sale: https://shop.example/sale\n\nStop these emails: ${links[3]}\n`);
    assert.ok(mail.attachments[0]!.content.equals(PDF));
    const header = mail.headerLines.find((line) => line.key === 'list-unsubscribe')!.line.replace(/\r\n[ \t]/g, ' ');
    assert.equal(header, `List-Unsubscribe: <${links[3]}>`);
    assert.equal(mail.headerLines.find((line) => line.key === 'list-unsubscribe-post')!.line, 'List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  });

  test('the pixel: a GIF, an OPENED event, first then repeat; a privacy proxy is flagged, not dropped', async () => {
    const pixel = local(/<img src="([^"]+)"/.exec(String(mail.html))![1]!);
    const first = await fetch(pixel, { headers: { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)' } });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('content-type'), 'image/gif');
    assert.match(first.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(Buffer.from(await first.arrayBuffer()).subarray(0, 6).toString('latin1'), 'GIF89a');
    await fetch(pixel, { headers: { 'user-agent': 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)' } });
    const opened = await events(id, 'OPENED');
    assert.equal(opened.length, 2);
    assert.deepEqual(opened.map((event) => [event.details.first, event.details.machine, event.details.agent ?? null]), [[true, false, null], [false, true, 'google-image-proxy']]);
    assert.equal(opened[0]!.details.userAgent, 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)');
    assert.equal(opened[0]!.details.ip, '127.0.0.1');
    assert.equal(((await (await app.api(`/emails/${id}`)).json()) as { data: { status: string } }).data.status, 'DELIVERED', 'engagement never changes the status');
  });

  test('a click redirects to the link as written; a HEAD probe is flagged as a machine', async () => {
    const click = local(hrefs(String(mail.html))[0]!);
    const response = await fetch(click, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (iPhone)' } });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), 'https://shop.example/sale?x=1&y=2');
    const probe = await fetch(click, { method: 'HEAD', redirect: 'manual' });
    assert.equal(probe.status, 302);
    const clicked = await events(id, 'CLICKED');
    assert.deepEqual(clicked.map((event) => [event.details.url, event.details.link, event.details.first, event.details.machine]), [
      ['https://shop.example/sale?x=1&y=2', 0, true, false],
      ['https://shop.example/sale?x=1&y=2', 0, false, true],
    ]);
  });

  test('forged and edited URLs are 404 and never redirect', async () => {
    const click = new URL(local(hrefs(String(mail.html))[0]!));
    const [, t, c, messageId, index, target, signature] = click.pathname.split('/');
    const evil = Buffer.from('https://evil.example/phish').toString('base64url');
    const other = await send({ text: 'another message' });
    const forgeries = [
      `/${t}/${c}/${messageId}/${index}/${evil}/${signature}`, // another target: an open redirect
      `/${t}/${c}/${messageId}/${index}/${target}/${signature!.slice(0, -1)}${signature!.endsWith('A') ? 'B' : 'A'}`, // the last character edited
      `/${t}/${c}/${messageId}/1/${target}/${signature}`, // another link position
      `/${t}/${c}/${other}/${index}/${target}/${signature}`, // another message
      `/${t}/${c}/${messageId}/${index}/${evil}/${'A'.repeat(22)}`, // a made-up signature
      `/t/o/${other}/${'A'.repeat(22)}.gif`,
      `/u/${other}/${'A'.repeat(22)}`,
    ];
    for (const path of forgeries) {
      const response = await fetch(`${app.url}${path}`, { redirect: 'manual' });
      assert.equal(response.status, 404, path);
      assert.equal(response.headers.get('location'), null, path);
    }
    assert.equal((await events(id, 'CLICKED')).length, 2, 'nothing recorded for a forgery');
    assert.equal((await events(other)).filter((event) => ['OPENED', 'CLICKED'].includes(event.type)).length, 0);
  });

  test('unsubscribe: GET only asks; the exact RFC 8058 one-click POST unsubscribes once and suppresses the address', async () => {
    const url = local(hrefs(String(mail.html))[3]!);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<form method="post"/);
    assert.equal((await events(id, 'UNSUBSCRIBED')).length, 0, 'a GET (a link scanner) unsubscribes nobody');

    const oneClick = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    assert.equal(oneClick.status, 200);
    const again = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=---FormBoundary7MA4YWxk' },
      body: '-----FormBoundary7MA4YWxk\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n-----FormBoundary7MA4YWxk--\r\n',
    });
    assert.equal(again.status, 200);
    const unsubscribed = await events(id, 'UNSUBSCRIBED');
    assert.equal(unsubscribed.length, 1, 'one event, however often it is posted');
    assert.equal(unsubscribed[0]!.details.via, 'one-click');
    const [row] = await app.mailroom.db.query<{ reason: string; message_id: string }>('SELECT reason, message_id FROM suppressions WHERE address = $1', [SEED_REQUEST.to.toLowerCase()]);
    assert.deepEqual(row, { reason: 'UNSUBSCRIBE', message_id: id });
  });

  test('the engagement events reach a subscribed webhook', async () => {
    const got = await eventually(async () => {
      const mine = receiver.received.filter((request) => request.path === '/engagement' && request.json.messageId === id);
      return mine.length >= 5 ? mine : undefined;
    }, 15_000, 'five engagement events at the webhook');
    assert.deepEqual(got.map((request) => request.json.type), ['OPENED', 'OPENED', 'CLICKED', 'CLICKED', 'UNSUBSCRIBED']);
  });
});

test("the account's tracking defaults apply to messages that do not choose", async () => {
  const changed = await app.api('/account', { method: 'PATCH', json: { trackOpens: true } });
  assert.equal(changed.status, 200);
  assert.equal(((await changed.json()) as { data: { trackOpens: boolean; trackClicks: boolean } }).data.trackOpens, true);
  try {
    // Another recipient than the first test's, which unsubscribed (and is now suppressed).
    const byDefault = await delivered(await send({ to: 'defaults@example.com', text: '<p>Hello <a href="https://a.example/">a</a></p>' }));
    assert.match(String(byDefault.html), /\/t\/o\/[^"]+\.gif/, 'the pixel, from the account default');
    assert.deepEqual(hrefs(String(byDefault.html)), ['https://a.example/'], 'clicks stay untracked');
    const optedOut = await delivered(await send({ to: 'defaults@example.com', text: '<p>Hello</p>', trackOpens: false }));
    assert.doesNotMatch(String(optedOut.html), /\/t\/o\//, "the message's own choice wins");
    assert.equal(optedOut.headerLines.some((line) => line.key === 'list-unsubscribe'), false, 'transactional mail gets no unsubscribe unless asked');
  } finally {
    await app.api('/account', { method: 'PATCH', json: { trackOpens: false } });
  }
  assert.equal((await app.api('/account', { method: 'PATCH', json: { trackOpens: 'yes' } })).status, 400);
});
