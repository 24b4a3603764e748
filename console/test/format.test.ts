import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageQuery, percent, relativeTime, routeOf, statusColor, STATUSES } from '../src/format.js';

test('every status has a colour, and failures are red', () => {
  for (const status of STATUSES) assert.notEqual(statusColor(status), '', status);
  assert.equal(statusColor('BOUNCED'), '#a61b1b');
  assert.equal(statusColor('DELIVERED'), '#1b5e20');
  assert.equal(statusColor('SOMETHING NEW'), '#495057');
});

test('relative times, then the date', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  assert.equal(relativeTime('2026-12-07T11:59:58Z', now), '2 s ago');
  assert.equal(relativeTime('2026-12-07T11:55:00Z', now), '5 min ago');
  assert.equal(relativeTime('2026-12-07T09:00:00Z', now), '3 h ago');
  assert.equal(relativeTime('2026-12-01T08:30:00Z', now), '2026-12-01 08:30');
  assert.equal(relativeTime('2026-12-07T12:00:05Z', now), '0 s ago', 'a clock a little ahead is not "in the future"');
  assert.equal(relativeTime('not a date', now), 'not a date');
});

test('percentages with one decimal; nothing to show is a dash', () => {
  assert.equal(percent(0.0512), '5.1%');
  assert.equal(percent(0), '0.0%');
  assert.equal(percent(null), '–');
  assert.equal(percent(Number.NaN), '–');
});

test("the messages query keeps the filters set, trims them, and adds the page's cursor", () => {
  assert.equal(messageQuery({ status: 'BOUNCED', to: ' a@b.example ', from: '' }, null), 'status=BOUNCED&to=a%40b.example&limit=50');
  assert.equal(messageQuery({}, 'abc', 20), 'limit=20&cursor=abc');
  assert.equal(messageQuery({ externalId: 'a&b=c' }, null), 'externalId=a%26b%3Dc&limit=50', 'a value cannot add a parameter');
});

test('hash routes', () => {
  assert.deepEqual(routeOf(''), []);
  assert.deepEqual(routeOf('#/'), []);
  assert.deepEqual(routeOf('#/messages'), ['messages']);
  assert.deepEqual(routeOf('#/messages/abc%2Fdef'), ['messages', 'abc/def']);
});
