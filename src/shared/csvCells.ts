/**
 * CSV formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with =, +,
 * -, @, TAB or CR as a formula, so an address such as "=HYPERLINK(...)@x.example" in an export
 * would run on the operator's machine. Every CSV writer passes its cells through neutraliseCell,
 * which prefixes such a cell with a single quote, as OWASP advises; every CSV reader of Mailroom's
 * own files passes them through restoreCell, which takes that quote off again. A value that itself
 * starts with a quote is prefixed too, so that the round trip is exact.
 */
const NEEDS_QUOTE = /^[=+\-@\t\r']/;
const QUOTED = /^'[=+\-@\t\r']/;

export function neutraliseCell(value: string): string {
  return NEEDS_QUOTE.test(value) ? `'${value}` : value;
}

export function restoreCell(value: string): string {
  return QUOTED.test(value) ? value.slice(1) : value;
}
