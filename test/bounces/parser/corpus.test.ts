import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable, scoreCorpus } from './corpusScore.js';

/**
 * The parser's score on the shared corpus of real bounces. Floors are the achieved score rounded
 * down to the whole percent: raise them when the parser gets better, never lower them to pass.
 */
const FLOORS: Record<string, number> = {
  detected: 100,
  recipients: 99,
  status: 98,
  'hard/soft': 97,
  reason: 93,
};

test('the bounce parser scores at or above its floors on the real-bounce corpus', () => {
  const { measures, misses } = scoreCorpus();
  console.log(formatTable(measures));
  console.log(`misses (${misses.length}):`);
  for (const miss of misses) console.log(`  ${miss.measure.padEnd(10)} ${miss.file.padEnd(30)} want=${miss.want} got=${miss.got.slice(0, 160)}`);
  assert.equal(measures.length, Object.keys(FLOORS).length);
  for (const { name, hits, total } of measures) {
    assert.ok(total > 0, `${name}: nothing measured`);
    const floor = FLOORS[name] ?? 100;
    assert.ok(100 * hits >= floor * total, `${name}: ${hits}/${total} = ${((100 * hits) / total).toFixed(1)}% is below the floor of ${floor}%`);
  }
});
