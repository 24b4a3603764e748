import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MACHINE_RULES, machineAgent } from '../../src/tracking/machineRules.js';

/** One fixture per rule: a user agent (and method) seen from that machine. */
const FIXTURES: { kind: 'open' | 'click'; method: string; userAgent: string; expected: string | null }[] = [
  { kind: 'click', method: 'HEAD', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)', expected: 'head-request' },
  { kind: 'open', method: 'GET', userAgent: '', expected: 'no-user-agent' },
  { kind: 'open', method: 'GET', userAgent: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', expected: 'google-image-proxy' },
  { kind: 'open', method: 'GET', userAgent: 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html', expected: 'yahoo-mail-proxy' },
  { kind: 'open', method: 'GET', userAgent: 'Mozilla/5.0', expected: 'apple-mail-privacy-protection' },
  { kind: 'click', method: 'GET', userAgent: 'Microsoft Office Existence Discovery', expected: 'microsoft-safe-links' },
  { kind: 'click', method: 'GET', userAgent: 'Mozilla/5.0 (compatible; Mimecast URL Protect)', expected: 'mimecast' },
  { kind: 'click', method: 'GET', userAgent: 'Proofpoint URL Defense', expected: 'proofpoint' },
  { kind: 'click', method: 'GET', userAgent: 'Barracuda Sentinel (EE)', expected: 'barracuda' },
  { kind: 'click', method: 'GET', userAgent: 'Mozilla/5.0 (compatible; Google-Safety; +http://www.google.com/bot.html)', expected: 'google-safe-browsing' },
  { kind: 'click', method: 'GET', userAgent: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', expected: 'link-preview' },
  { kind: 'click', method: 'GET', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36', expected: 'headless-browser' },
  { kind: 'click', method: 'GET', userAgent: 'python-requests/2.31.0', expected: 'http-library' },
  { kind: 'click', method: 'GET', userAgent: 'Mozilla/5.0 (compatible; SomeSecurity scanner 2.0)', expected: 'crawler' },
  // People.
  { kind: 'open', method: 'GET', userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)', expected: null },
  { kind: 'click', method: 'GET', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1', expected: null },
  // A bare "Mozilla/5.0" click is a person's privacy setting, not Apple's image proxy.
  { kind: 'click', method: 'GET', userAgent: 'Mozilla/5.0', expected: null },
];

test('each hit is attributed to the machine that made it, or to nobody', () => {
  for (const fixture of FIXTURES) {
    assert.equal(machineAgent(fixture.kind, fixture.method, fixture.userAgent), fixture.expected, `${fixture.kind} ${fixture.method} ${JSON.stringify(fixture.userAgent)}`);
  }
});

test('every rule has a fixture', () => {
  const covered = new Set(FIXTURES.map((fixture) => fixture.expected));
  assert.deepEqual(MACHINE_RULES.map((rule) => rule.name).filter((name) => !covered.has(name)), []);
});
