import { parseArgs } from 'node:util';

/** Every option of every command: one table, so that the admin socket parses argv as the terminal does. */
export const CLI_OPTIONS = {
  config: { type: 'string' },
  roles: { type: 'string' },
  account: { type: 'string' },
  operator: { type: 'string' },
  name: { type: 'string' },
  verified: { type: 'boolean' },
  ed25519: { type: 'boolean' },
  'per-second': { type: 'string' },
  'per-day': { type: 'string' },
  hipaa: { type: 'boolean' },
  scopes: { type: 'string' },
  password: { type: 'boolean' },
  admin: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  // client commands (src/cli/client/)
  from: { type: 'string' },
  to: { type: 'string' },
  subject: { type: 'string' },
  text: { type: 'string' },
  html: { type: 'string' },
  template: { type: 'string' },
  placeholders: { type: 'string' },
  csv: { type: 'string' },
  rate: { type: 'string' },
  'batch-size': { type: 'string' },
  type: { type: 'string' },
  after: { type: 'string' },
  reason: { type: 'string' },
} as const;

export interface CliOptions {
  config?: string | undefined;
  roles?: string | undefined;
  account?: string | undefined;
  operator?: string | undefined;
  name?: string | undefined;
  verified?: boolean | undefined;
  ed25519?: boolean | undefined;
  'per-second'?: string | undefined;
  'per-day'?: string | undefined;
  hipaa?: boolean | undefined;
  scopes?: string | undefined;
  password?: boolean | undefined;
  admin?: boolean | undefined;
  help?: boolean | undefined;
  json?: boolean | undefined;
  from?: string | undefined;
  to?: string | undefined;
  subject?: string | undefined;
  text?: string | undefined;
  html?: string | undefined;
  template?: string | undefined;
  placeholders?: string | undefined;
  csv?: string | undefined;
  rate?: string | undefined;
  'batch-size'?: string | undefined;
  type?: string | undefined;
  after?: string | undefined;
  reason?: string | undefined;
}

/** Parses a command line; unknown options throw (ERR_PARSE_ARGS_UNKNOWN_OPTION). */
export function parseCli(argv: string[]): { values: CliOptions; positionals: string[] } {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: CLI_OPTIONS });
  return { values, positionals };
}
