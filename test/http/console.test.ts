import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/process.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 18: the web console is served by the standard HTTP listener at `/` and `/login`, as the
 * files `vite build` made at install time, with a strict CSP and no framing; its assets are cached
 * for good (their names carry content hashes); the HIPAA listener serves no console.
 */
let app: TestApp;

before(async () => {
  app = await startTestApp({ MAILROOM_HIPAA_HTTP_PORT: String(await freePort()), MAILROOM_HIPAA_HTTP_PLAIN: '1' });
});
after(async () => {
  await app.stop();
});

test('/ and /login are the console page, with a CSP that allows scripts from Mailroom only and no framing', async () => {
  for (const path of ['/', '/login']) {
    const response = await fetch(app.url + path);
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    for (const rule of ["script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "default-src 'self'"]) assert.ok(csp.includes(rule), `${path}: ${rule} in ${csp}`);
    assert.ok(!/script-src[^;]*unsafe/.test(csp), 'no unsafe script source');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const html = await response.text();
    assert.match(html, /<div id="root"><\/div>/);
    assert.ok(!/<script>(?!<\/script>)/.test(html), 'no inline script');
  }
});

test('the assets the page names are served, cached for good; nothing outside them is', async () => {
  const html = await (await fetch(`${app.url}/`)).text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
  assert.ok(assets.some((asset) => asset.endsWith('.js')) && assets.some((asset) => asset.endsWith('.css')), html);
  for (const asset of assets) {
    const response = await fetch(app.url + asset);
    assert.equal(response.status, 200, asset);
    assert.match(response.headers.get('cache-control') ?? '', /immutable/);
    assert.match(response.headers.get('content-type') ?? '', asset.endsWith('.js') ? /javascript/ : /text\/css/);
    assert.ok((await response.arrayBuffer()).byteLength > 1000);
  }
  for (const path of ['/assets/../index.html', '/assets/%2e%2e/index.html', '/assets/..%2f..%2fpackage.json', '/assets/missing.js']) {
    const response = await fetch(app.url + path);
    assert.ok(response.status === 404 || response.status === 400, `${path}: ${response.status}`);
    assert.ok(!(await response.text()).includes('"name": "mailroom"'));
  }
});

test('the HIPAA listener serves no console and takes no session', async () => {
  const hipaa = app.mailroom.hipaa.url!;
  for (const path of ['/', '/login', '/session']) {
    const response = await fetch(hipaa + path);
    assert.equal(response.status, 404, path);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  }
});
