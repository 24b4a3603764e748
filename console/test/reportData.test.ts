import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pollDelay, type Campaign } from '../src/campaigns.js';
import { statusColor } from '../src/format.js';
import {
  bucketSeconds, campaignSeries, chartOf, countLineFeeds, expectedRecords, importFraction, isCampaignId, OUTCOME_SERIES, outcomeFraction, rangeOf, reportUrl, seriesUrl, totalsOf, utcDate,
} from '../src/reportData.js';

test('UTC dates for the range inputs, and the range the API takes (the last day included)', () => {
  const now = new Date('2026-03-01T23:30:00Z');
  assert.equal(utcDate(now), '2026-03-01');
  assert.equal(utcDate(now, 29), '2026-01-31');
  assert.deepEqual(rangeOf('2026-02-27', '2026-02-28'), { from: '2026-02-27', to: '2026-03-01' });
  assert.deepEqual(rangeOf('2026-03-01', '2026-03-01'), { from: '2026-03-01', to: '2026-03-02' }, 'one day');
  assert.equal(rangeOf('2026-03-02', '2026-03-01'), null, 'backwards');
  assert.equal(rangeOf('', '2026-03-01'), null);
  assert.equal(rangeOf('2026-3-1', '2026-03-01'), null);
});

test('report and series URLs keep what is set, escaped, and ask for CSV when told', () => {
  assert.equal(reportUrl({ groupBy: 'campaign', from: '2026-01-01', to: '2026-02-01', limit: 50, cursor: 'a+b/c' }), '/reports?groupBy=campaign&from=2026-01-01&to=2026-02-01&limit=50&cursor=a%2Bb%2Fc');
  assert.equal(reportUrl({ groupBy: 'day', from: '2026-01-01', to: '2026-02-01', cursor: null, format: 'csv' }), '/reports?groupBy=day&from=2026-01-01&to=2026-02-01&format=csv');
  assert.equal(seriesUrl({ interval: 'hour', campaignId: 'cmp_x' }), '/reports/timeseries?interval=hour&campaignId=cmp_x');
  assert.equal(seriesUrl({ interval: 'day', from: '2026-01-01', to: '2026-01-08', format: 'csv' }), '/reports/timeseries?interval=day&from=2026-01-01&to=2026-01-08&format=csv');
});

test("a series' buckets as chart seconds, its lines and totals (a missing counter is 0)", () => {
  assert.equal(bucketSeconds('2026-01-02'), Date.UTC(2026, 0, 2) / 1000);
  assert.equal(bucketSeconds('2026-01-02T05:00:00.000Z'), Date.UTC(2026, 0, 2, 5) / 1000);
  const points = [{ time: '2026-01-01', delivered: 3, bounced: 1, openedUnique: 2 }, { time: '2026-01-02', delivered: 5, clickedUnique: 1 }];
  const chart = chartOf(points, OUTCOME_SERIES);
  assert.deepEqual(chart.times, [Date.UTC(2026, 0, 1) / 1000, Date.UTC(2026, 0, 2) / 1000]);
  assert.deepEqual(chart.series.map((line) => [line.label, line.values]), [['Delivered', [3, 5]], ['Bounced', [1, 0]], ['Opened', [2, 0]], ['Clicked', [0, 1]]]);
  assert.deepEqual(totalsOf(points, OUTCOME_SERIES).map((entry) => entry.total), [8, 1, 2, 1]);
});

test("a campaign's chart: per hour for a week after its start, then per day; from a few buckets before it", () => {
  const now = new Date('2026-05-10T12:00:00Z');
  assert.deepEqual(campaignSeries(null, now), { interval: 'hour' });
  assert.deepEqual(campaignSeries('2026-05-10T09:41:07Z', now), { interval: 'hour', from: '2026-05-10T06:00:00.000Z' });
  assert.deepEqual(campaignSeries('2026-05-01T09:41:07Z', now), { interval: 'day', from: '2026-04-30' });
  assert.deepEqual(campaignSeries('2026-05-11T09:00:00Z', now), { interval: 'hour' }, 'a start ahead of the clock');
});

test("an import's denominator: the file's records counted from its line feeds, the header aside", () => {
  const file = new TextEncoder().encode('email\na@x.example\nb@x.example\n');
  assert.equal(countLineFeeds(file), 3);
  assert.equal(expectedRecords(file.length, 3, true), 2);
  assert.equal(expectedRecords(file.length - 1, 2, false), 2, 'no line feed at the end');
  assert.equal(expectedRecords(5, 0, false), 0, 'a header alone');
  assert.equal(expectedRecords(0, 0, false), 0);
});

test("an import's progress: rows read of those expected, 99% at most while it runs, 100% when it ends", () => {
  assert.equal(importFraction({ state: 'running', rowsRead: 50 }, 200), 0.25);
  assert.equal(importFraction({ state: 'running', rowsRead: 300 }, 200), 0.99, 'lines overcount; only the end is 100%');
  assert.equal(importFraction({ state: 'running', rowsRead: 10 }, null), null);
  assert.equal(importFraction({ state: 'finished', rowsRead: 10 }, 200), 1);
  assert.equal(importFraction({ state: 'failed', rowsRead: 0 }, 200), 1);
});

test("a campaign's messages with an outcome, and how often its page reads it again", () => {
  assert.equal(outcomeFraction({ queued: 0, rejected: 0 }, null), null);
  assert.equal(outcomeFraction({ queued: 8, rejected: 2 }, { delivered: 4, bounced: 1, rejected: 2, opened: 9 }), 0.7);
  assert.equal(outcomeFraction({ queued: 2, rejected: 0 }, { delivered: 2, bounced: 1 }), 1, 'a bounce after a delivery counts twice: capped');
  const campaign = (state: Campaign['state']) => ({ state }) as Campaign;
  assert.equal(pollDelay(campaign('running'), null), 2_000);
  assert.equal(pollDelay(campaign('scheduled'), null), 10_000);
  assert.equal(pollDelay(campaign('finished'), 0.5), 5_000);
  assert.equal(pollDelay(campaign('finished'), 1), null);
  assert.equal(pollDelay(campaign('draft'), null), null);
});

test('campaign ids are the only report keys linked; states and statuses have their colours', () => {
  assert.ok(isCampaignId('cmp_0123456789abcdefghijkl'));
  assert.ok(!isCampaignId('javascript:alert(1)'));
  assert.ok(!isCampaignId('spring-sale'));
  assert.equal(statusColor('finished'), '#1b5e20');
  assert.equal(statusColor('running'), '#0b4f8a');
  assert.equal(statusColor('paused'), '#5f3dc4');
  assert.equal(statusColor('bounced'), '#a61b1b');
  assert.equal(statusColor('draft'), '#495057');
});
