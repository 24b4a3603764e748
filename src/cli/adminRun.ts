import { AccountError } from '../accounts/accounts.js';
import { ConfigError } from '../config/load.js';
import { DomainError } from '../domains/domains.js';
import { adminCommands } from './admin.js';
import { UsageError, type AdminContext, type AdminHandler } from './adminContext.js';
import { auditCommand } from './audit.js';
import { ADMIN_COMMANDS } from './adminCommands.js';
import { parseCli } from './options.js';
import { operatorsCommand } from './operators.js';
import { jsonOutput } from './output.js';
import { secretsCommand } from './secrets.js';

function handlerOf(positionals: string[]): { handler: AdminHandler; args: string[] } | null {
  const [command, ...rest] = positionals;
  if (!command || !ADMIN_COMMANDS.has(command)) return null;
  // The data keys of HIPAA messages and the accounts' index keys are sealed values like the
  // other secrets: one sweep re-wraps them all (docs/HIPAA.md).
  if (command === 'keys' && rest[0] === 'rotate-encryption') return { handler: secretsCommand, args: ['rotate'] };
  if (command === 'secrets') return { handler: secretsCommand, args: rest };
  if (command === 'audit') return { handler: auditCommand, args: rest };
  if (command === 'operators') return { handler: operatorsCommand, args: rest };
  const handler = adminCommands[command];
  return handler ? { handler, args: rest } : null;
}

/** Errors whose message is the whole story (no stack trace): the operator's mistakes and known states. */
function isKnown(error: unknown): boolean {
  return error instanceof ConfigError || error instanceof AccountError || error instanceof DomainError ||
    (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (error as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
}

/**
 * Runs one admin command line against the context's database, at a terminal or inside the
 * server for its admin socket alike: the same parsing, the same handlers, the same messages and
 * exit codes (2 for a wrong command line, 1 for a refusal).
 */
export async function runAdmin(argv: string[], ctx: AdminContext, { stacks }: { stacks: boolean }): Promise<number> {
  const json = argv.includes('--json') ? jsonOutput(ctx.out) : null;
  const code = await run(argv, json ? { ...ctx, out: json.output } : ctx, stacks);
  json?.finish(code);
  return code;
}

async function run(argv: string[], ctx: AdminContext, stacks: boolean): Promise<number> {
  try {
    const { values, positionals } = parseCli(argv);
    const found = handlerOf(positionals);
    if (!found) throw new UsageError(`"${positionals[0] ?? ''}" is not an admin command`);
    return await found.handler(found.args, values, ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      ctx.out.err(`mailroom: ${error.message}`);
      return 2;
    }
    ctx.out.err(`mailroom: ${isKnown(error) || !stacks ? (error as Error).message : (error as Error).stack}`);
    return 1;
  }
}
