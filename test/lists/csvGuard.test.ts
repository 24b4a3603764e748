import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { parse } from 'csv-parse';
import fc from 'fast-check';
import { CsvRecordGuard } from '../../src/lists/csvGuard.js';
import { csvRecords } from '../../src/lists/importJob.js';

/**
 * The guard in front of csv-parse must cut records where csv-parse does, or every line number
 * after a disagreement is wrong and a cut record spills into the next ones. Random text made of
 * CSV's troublesome pieces (quotes, commas, LF, CRLF, multi-byte characters), read in random
 * chunk sizes, is read through the guard and by csv-parse alone.
 */
const PIECES = ['a', 'b', ',', '"', '""', '\n', '\r\n', '\r', 'é', '€', ' ', 'x@y.com'];
const text = fc.array(fc.constantFrom(...PIECES), { maxLength: 80 }).map((pieces) => pieces.join(''));
const chunkSize = fc.integer({ min: 1, max: 17 });

function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** What csv-parse alone makes of the text, with the options the import uses: records, and how many it skipped. */
async function plain(input: string): Promise<{ records: string[][]; skipped: number }> {
  let skipped = 0;
  const parser = Readable.from([Buffer.from(input)]).pipe(parse({
    bom: false, record_delimiter: ['\r\n', '\n'], relax_column_count: true, skip_empty_lines: true, skip_records_with_error: true,
    on_skip: () => {
      skipped++;
      return undefined;
    },
  }));
  const records: string[][] = [];
  for await (const record of parser) records.push(record as string[]);
  return { records, skipped };
}

async function guarded(input: string, size: number, cap: number) {
  const invalid: number[] = [];
  const records: { cells: string[]; line: number; truncated: boolean }[] = [];
  const guard = new CsvRecordGuard(cap);
  for await (const record of csvRecords(Readable.from(chunks(Buffer.from(input), size)), guard, (line) => invalid.push(line))) records.push(record);
  assert.equal(guard.peekSpan(), undefined, 'every record the guard saw was one csv-parse gave or skipped');
  return { records, invalid };
}

test('with room for every record, the guard changes nothing csv-parse sees, and every record has a line', async () => {
  await fc.assert(
    fc.asyncProperty(text, chunkSize, async (input, size) => {
      const expected = await plain(input);
      const got = await guarded(input, size, 1 << 20);
      assert.deepEqual(got.records.map((record) => record.cells), expected.records);
      assert.ok(got.invalid.length <= expected.skipped, 'a record csv-parse skipped is reported once, however many errors it had');
      assert.equal(got.invalid.length > 0, expected.skipped > 0);
      const lines = [...got.records.map((record) => record.line), ...got.invalid].sort((x, y) => x - y);
      assert.equal(new Set(lines).size, lines.length, 'one line per record');
      const lastLine = input.split('\n').length;
      assert.ok(lines.every((line) => line >= 1 && line <= lastLine));
      assert.ok(got.records.every((record) => !record.truncated));
      // The line given is where the record begins: with its first cell, quoted or not.
      const physical = input.split('\n');
      for (const record of got.records) {
        const begins = physical[record.line - 1]!;
        const first = record.cells[0]!.split('\n')[0]!.replace(/\r$/, '');
        assert.ok(begins.startsWith(first) || begins.startsWith(`"${first.replace(/"/g, '""')}`), `line ${record.line} of ${JSON.stringify(input)} for ${JSON.stringify(record.cells)}`);
      }
    }),
    { seed: 16, numRuns: 600 },
  );
});

test('records cut short are flagged, and the records around them come through untouched', async () => {
  await fc.assert(
    fc.asyncProperty(text, chunkSize, fc.integer({ min: 3, max: 24 }), async (input, size, cap) => {
      const expected = (await plain(input)).records.map((record) => JSON.stringify(record));
      const got = await guarded(input, size, cap);
      // Each whole record is one csv-parse reads alone, in the same order.
      let at = 0;
      for (const record of got.records.filter((entry) => !entry.truncated)) {
        const cells = JSON.stringify(record.cells);
        while (at < expected.length && expected[at] !== cells) at++;
        assert.ok(at < expected.length, `${cells} is not a record of ${JSON.stringify(input)}`);
        at++;
      }
      const lines = [...got.records.map((record) => record.line), ...got.invalid];
      assert.equal(new Set(lines).size, lines.length);
    }),
    { seed: 17, numRuns: 600 },
  );
});

test('line numbers: LF and CRLF, empty lines, line breaks inside quotes, cut records, a byte order mark', async () => {
  const input = '\uFEFFh1,h2\r\n\r\na,b\r\n"multi\r\nline",c\n\n' + `"${'z'.repeat(40)}\n${'z'.repeat(40)}",cut\n` + `${'y'.repeat(50)},cut too\n` + 'last,row';
  const got = await guarded(input, 7, 32);
  assert.deepEqual(got.records.map((record) => [record.line, record.truncated, record.truncated ? null : record.cells]), [
    [1, false, ['h1', 'h2']], [3, false, ['a', 'b']], [4, false, ['multi\r\nline', 'c']], [7, true, null], [9, true, null], [10, false, ['last', 'row']],
  ]);
  const invalid = await guarded('h\na"b\n"open\nx\n', 3, 1000);
  assert.deepEqual([invalid.records.map((record) => [record.line, record.cells]), invalid.invalid], [[[1, ['h']]], [2, 3]]);
});
