import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { neutraliseCell, restoreCell } from '../../src/shared/csvCells.js';

/**
 * CSV formula injection (OWASP): a cell that starts with =, +, -, @, TAB or CR is a formula to a
 * spreadsheet. Exports prefix such a cell with a single quote; imports take the quote off again,
 * so a file exported and imported is unchanged, even for a value that itself starts with a quote.
 */
const FORMULAS = ['=1+1', '=HYPERLINK("http://evil.example","x")', '+41 22', '-2+3', '@SUM(A1:A9)', '\t=1', '\r=1', '=cmd|\' /C calc\'!A0'];
const PLAIN = ['eve@example.com', 'MANUAL', '2026-01-02T03:04:05.000Z', '', 'a=b', 'x-y@example.com', '0', ' =1'];

test('cells that would start a formula are prefixed with a single quote; others are left alone', () => {
  for (const cell of FORMULAS) assert.equal(neutraliseCell(cell), `'${cell}`, JSON.stringify(cell));
  for (const cell of PLAIN) assert.equal(neutraliseCell(cell), cell, JSON.stringify(cell));
  // A value that starts with a quote is prefixed too, or its own quote would be taken off on import.
  assert.equal(neutraliseCell("'=1"), "''=1");
  assert.equal(neutraliseCell("'quoted@example.com"), "''quoted@example.com");
});

test('restoring undoes neutralising for every value (round trip through a CSV file)', () => {
  const values = [...FORMULAS, ...PLAIN, "'=1", "'quoted@example.com", "''", "'", "-foo@example.com", "+tag@example.com", '=x@example.com'];
  const file = stringify(values.map((value) => [neutraliseCell(value)]));
  const back = (parse(file, { relax_column_count: true }) as string[][]).map((row) => restoreCell(row[0]!));
  assert.deepEqual(back, values);
  // A value from elsewhere that merely starts with a quote keeps it.
  assert.equal(restoreCell("'hello"), "'hello");
});
