import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { eventually, otherAccountKey, startTestApp, type TestApp } from '../helpers/app.js';

/**
 * GET /sandbox/messages/{id}/links (issue 18, the sandbox's link check): each link and image of a
 * caught message with what its target answered, a tracked click checked at its target without
 * counting a click, and another account's caught message not found.
 */
let app: TestApp;
let site: Server;
let origin: string;
const seen: string[] = [];

before(async () => {
  site = createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    if (request.url === '/offer') return void response.end('offer');
    if (request.url === '/old') return void response.writeHead(301, { location: '/offer' }).end();
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  // The site is on loopback: allowed here as a receiver on the operator's own network would be.
  app = await startTestApp({ MAILROOM_ALLOW_PRIVATE_CALLBACKS: '1' });
});
after(async () => {
  await app.stop();
  await new Promise((resolve) => site.close(resolve));
});

interface Link { url: string; kind: string; text: string | null; verdict: string; statusCode: number | null; trackedTarget: string | null; finalUrl: string | null }

async function caughtIdOf(subject: string): Promise<number> {
  return eventually(async () => {
    const list = (await (await app.api('/sandbox/messages?limit=100')).json()) as { data: { id: number; subject: string }[] };
    return list.data.find((entry) => entry.subject === subject)?.id;
  }, 15_000, `${subject} caught`);
}

test("each link's verdict; the tracked click checked at its target, and no click counted", async () => {
  const html = `<p><a href="${origin}/offer">The offer</a> <a href="${origin}/old">Old link</a> <a href="${origin}/gone">Gone</a>`
    + ` <img src="${origin}/logo.png" alt="Logo"> <a href="mailto:help@elipackage.com">Help</a></p>`;
  const sent = await app.api('/emails', { method: 'POST', json: { from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: 'Links', text: html, trackClicks: true, trackOpens: true } });
  assert.equal(sent.status, 200, await sent.clone().text());
  const messageId = ((await sent.json()) as { data: { id: string } }).data.id;
  app.mailroom.worker?.wakeUp();
  const id = await caughtIdOf('Links');

  const response = await app.api(`/sandbox/messages/${id}/links`);
  assert.equal(response.status, 200, await response.clone().text());
  const links = ((await response.json()) as { data: Link[] }).data;
  // The HTML part's links first (the plain-text part, made from the HTML, repeats the targets).
  const byTarget = new Map(links.reverse().map((entry) => [entry.trackedTarget ?? entry.url, entry]));
  assert.deepEqual([byTarget.get(`${origin}/offer`)?.verdict, byTarget.get(`${origin}/offer`)?.text], ['ok', 'The offer']);
  assert.ok(byTarget.get(`${origin}/offer`)!.url.includes('/t/c/'), 'the link in the message is the tracking URL');
  assert.deepEqual([byTarget.get(`${origin}/old`)?.verdict, byTarget.get(`${origin}/old`)?.finalUrl], ['ok', `${origin}/offer`]);
  assert.deepEqual([byTarget.get(`${origin}/gone`)?.verdict, byTarget.get(`${origin}/gone`)?.statusCode], ['broken', 404]);
  assert.equal(byTarget.get(`${origin}/logo.png`)?.kind, 'image');
  const skipped = links.filter((entry) => entry.verdict === 'skipped').map((entry) => entry.url);
  assert.ok(skipped.some((url) => url.includes('/t/o/')), 'the open pixel is not requested');
  assert.ok(skipped.some((url) => url.startsWith('mailto:')) || !links.some((entry) => entry.url.startsWith('mailto:')), 'mailto: is not requested');
  assert.ok(!seen.some((line) => line.includes('/t/')), 'the site saw no tracking URL');

  const events = (await (await app.api(`/emails/${messageId}/events`)).json()) as { data: { type: string }[] };
  assert.ok(!events.data.some((event) => event.type === 'CLICKED' || event.type === 'OPENED'), 'the check counted no click and no open');
});

test("another account's caught message is not found, and a bad id is a 400", async () => {
  const sent = await app.api('/emails', { method: 'POST', json: { from: 'promo@elipackage.com', to: 'john.doe@example.com', subject: 'Mine', text: `${origin}/offer` } });
  assert.equal(sent.status, 200);
  app.mailroom.worker?.wakeUp();
  const id = await caughtIdOf('Mine');
  const other = await otherAccountKey(app, 'other-co');
  assert.equal((await app.api(`/sandbox/messages/${id}/links`, { key: other })).status, 404);
  assert.equal((await app.api('/sandbox/messages/abc/links')).status, 400);
  const own = ((await (await app.api(`/sandbox/messages/${id}/links`)).json()) as { data: Link[] }).data;
  assert.deepEqual(own.map((entry) => [entry.url, entry.verdict]), [[`${origin}/offer`, 'ok']]);
});
