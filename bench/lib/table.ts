/**
 * A Markdown table as the benchmarks print it (and docs/BENCHMARKS.md quotes it): columns padded
 * to their widest cell, the first `leftColumns` left-aligned and the rest right-aligned (numbers).
 */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const left = (column: number) => column < leftColumns;
  const line = (cells: readonly string[]) =>
    `| ${widths.map((width, column) => (left(column) ? (cells[column] ?? '').padEnd(width) : (cells[column] ?? '').padStart(width))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (left(column) ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
