#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { AccountError } from '../accounts/accounts.js';
import { ConfigError } from '../config/load.js';
import { DataDirLockedError } from '../db/pglite.js';
import { DomainError } from '../domains/domains.js';

const USAGE = `mailroom: a self-hosted Email API

  mailroom start [--roles api,worker] [--config FILE]   run Mailroom
  mailroom migrate [--config FILE]                      apply database migrations and exit
  mailroom accounts list | create NAME [--hipaa] | suspend NAME | reinstate NAME
  mailroom accounts limits NAME [--per-second N|default] [--per-day N|default]   show or set rate limits (0 = none)
  mailroom accounts allow-ip NAME RANGE | disallow-ip NAME RANGE | list-ip NAME   address ranges for SMTP IP credentials
  mailroom keys create --account NAME [--operator NAME] [--name LABEL] [--scopes send,read,admin]
  mailroom keys list --account NAME | revoke ID --account NAME
  mailroom operators create NAME --account A [--password] [--admin] | passwd NAME --account A | list --account A
                                                         console sign-in (the password from MAILROOM_OPERATOR_PASSWORD, standard input or a prompt)
  mailroom keys rotate-encryption                        re-wrap every stored key and secret with the current MAILROOM_ENCRYPTION_KEY
  mailroom domains add DOMAIN --account NAME [--verified] [--ed25519] | list --account NAME
  mailroom bounce parse FILE...                          print one JSON line per returned message
  mailroom secrets rotate | status                       re-seal stored secrets with the current key; count them per key
  mailroom audit verify [--account NAME]                 check the audit log's hash chains (HIPAA accounts)

Settings come from MAILROOM_* variables or mailroom.config.json (see README).`;

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
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
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
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 1;
  }
  // Each command loads only its own modules: `start` loads the whole server (about a second of
  // module loading), which an admin command run from a script should not pay.
  if (command === 'start') return (await import('./start.js')).startCommand(values);
  if (command === 'migrate') return (await import('./start.js')).migrateCommand(values);
  if (command === 'bounce') return (await import('./bounce.js')).bounceCommand(rest);
  if (command === 'secrets') return (await import('./secrets.js')).secretsCommand(rest, values);
  // The data keys of HIPAA messages and the accounts' index keys are sealed values like the
  // other secrets: one sweep re-wraps them all (docs/HIPAA.md).
  if (command === 'keys' && rest[0] === 'rotate-encryption') return (await import('./secrets.js')).secretsCommand(['rotate'], values);
  if (command === 'audit') return (await import('./audit.js')).auditCommand(rest, values);
  if (command === 'operators') return (await import('./operators.js')).operatorsCommand(rest, values);
  const { adminCommands } = await import('./admin.js');
  const admin = adminCommands[command];
  if (!admin) {
    console.error(`mailroom: unknown command "${command}"\n\n${USAGE}`);
    return 1;
  }
  return admin(rest, values);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'start') process.exitCode = code;
  },
  (error: unknown) => {
    const known = error instanceof ConfigError || error instanceof AccountError || error instanceof DomainError || error instanceof DataDirLockedError;
    const message = known || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? (error as Error).message : (error as Error).stack;
    console.error(`mailroom: ${message}`);
    process.exitCode = 1;
  },
);
