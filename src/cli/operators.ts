import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { ensureOperator, requireAccount } from '../accounts/accounts.js';
import { listOperators, setOperatorPassword, setOperatorRole } from '../accounts/operators.js';
import { loadConfig } from '../config/load.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { auditOperatorCommand } from './audit.js';
import type { CliOptions } from './main.js';

const USAGE = 'mailroom operators create NAME --account A [--password] [--admin] | passwd NAME --account A | list --account A';

/**
 * The password to set: MAILROOM_OPERATOR_PASSWORD (scripts), else the first line of standard
 * input when it is not a terminal (`echo ... | mailroom operators passwd`), else asked twice at
 * the terminal without echo. Never an argument: those show in `ps` and in shell history.
 */
async function readPassword(): Promise<string> {
  const fromEnv = process.env.MAILROOM_OPERATOR_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? '';
  }
  const first = await askHidden('Password: ');
  const again = await askHidden('Password again: ');
  if (first !== again) throw new OperatorUsageError('the two passwords differ');
  return first;
}

/** Reads a line at the terminal, echoing nothing of it (the prompt is written before muting). */
async function askHidden(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const lines = createInterface({ input: process.stdin, output, terminal: true });
  try {
    process.stderr.write(prompt);
    muted = true;
    return await lines.question('');
  } finally {
    lines.close();
    process.stderr.write('\n');
  }
}

class OperatorUsageError extends Error {}

async function run(db: Database, args: string[], options: CliOptions): Promise<void> {
  const [action, name] = args;
  const account = options.account;
  if (!account) throw new OperatorUsageError(`--account NAME is required (${USAGE})`);
  switch (action) {
    case 'create':
    case 'passwd': {
      if (!name) throw new OperatorUsageError(`the operator's NAME is required (${USAGE})`);
      const role = options.admin ? 'admin' : null;
      if (action === 'create' && !options.password) {
        const operator = await ensureOperator(db, (await requireAccount(db, account)).id, name);
        if (role) await setOperatorRole(db, account, name, role);
        console.log(`operator ${operator.name} of account ${account} (no password: it cannot sign in to the console; "operators passwd" gives it one)`);
        return;
      }
      const password = await readPassword();
      const operator = await setOperatorPassword(db, account, name, password, role);
      await auditOperatorCommand(db, loadConfig({ configFile: options.config }), account, `operators ${action}`, `operator:${operator.id}`);
      console.log(`operator ${operator.name} of account ${account} can sign in to the console (${operator.role}); its earlier sessions were signed out`);
      return;
    }
    case 'list':
    case undefined:
      for (const operator of await listOperators(db, account)) {
        const state = operator.lockedUntil && new Date(operator.lockedUntil) > new Date() ? `locked until ${operator.lockedUntil}` : operator.canSignIn ? 'can sign in' : 'no password';
        console.log(`${operator.name}\t${operator.role}\t${state}`);
      }
      return;
    default:
      throw new OperatorUsageError(`unknown action "operators ${action}" (${USAGE})`);
  }
}

/** `mailroom operators ...`: who may sign in to the web console (SPEC section 13). */
export async function operatorsCommand(args: string[], options: CliOptions): Promise<number> {
  const config = loadConfig({ configFile: options.config });
  const db = await openDatabase(config);
  try {
    await migrate(db);
    await run(db, args, options);
    return 0;
  } catch (error) {
    if (error instanceof OperatorUsageError) {
      console.error(`mailroom: ${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    await db.close();
  }
}
