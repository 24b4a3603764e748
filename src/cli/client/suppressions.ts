import { readFile } from 'node:fs/promises';
import type { CliOptions } from '../options.js';
import { clientFromEnv, ClientError, ClientUsageError } from './http.js';

const REASONS = ['HARD_BOUNCE', 'COMPLAINT', 'UNSUBSCRIBE', 'MANUAL'];

/**
 * `mailroom suppressions import FILE.csv [--reason R]`: the CSV as POST /suppressions/import
 * takes it (all rows or none). `export`: GET /suppressions/export.csv to standard output.
 */
export async function suppressionsCommand(args: string[], options: CliOptions): Promise<number> {
  const [action, file] = args;
  const client = clientFromEnv();
  if (action === 'import') {
    if (!file) throw new ClientUsageError('suppressions import needs a FILE.csv');
    if (options.reason !== undefined && !REASONS.includes(options.reason)) throw new ClientUsageError(`--reason is one of ${REASONS.join(', ')}`);
    let csv: string;
    try {
      csv = await readFile(file, 'utf8');
    } catch (error) {
      throw new ClientError(`cannot read ${file}: ${(error as Error).message}`);
    }
    const query = options.reason ? `?reason=${options.reason}` : '';
    const { body } = await client.request<{ data: { rows: number; added: number; alreadyListed: number } }>('POST', `/suppressions/import${query}`, { raw: { contentType: 'text/csv', data: csv } });
    if (options.json) process.stdout.write(`${JSON.stringify(body.data)}\n`);
    else process.stdout.write(`${body.data.rows} row(s): ${body.data.added} added, ${body.data.alreadyListed} already listed\n`);
    return 0;
  }
  if (action === 'export') {
    const { body } = await client.request<string>('GET', '/suppressions/export.csv', { text: true });
    if (options.json) {
      const { parse } = await import('csv-parse/sync');
      process.stdout.write(`${JSON.stringify(parse(body, { columns: true, skip_empty_lines: true }))}\n`);
    } else process.stdout.write(body);
    return 0;
  }
  throw new ClientUsageError(`${action ? `unknown action "suppressions ${action}"; ` : ''}usage: mailroom suppressions import FILE.csv [--reason R] | export`);
}
