import { loadConfig } from '../config/load.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { startMailroom, type Mailroom } from '../app.js';
import { listenerProblem } from './listenerError.js';
import { stopOnSignals } from './signals.js';
import { createLogger } from '../shared/log.js';
import type { CliOptions } from './main.js';

export async function startCommand(options: CliOptions): Promise<number> {
  const config = loadConfig({ configFile: options.config, overrides: options.roles ? { roles: options.roles } : {} });
  const log = createLogger(config.logLevel);
  let mailroom: Mailroom;
  try {
    mailroom = await startMailroom(config, log);
  } catch (error) {
    const problem = listenerProblem(error, config);
    if (!problem) throw error;
    console.error(`mailroom: ${problem}`);
    return 1;
  }
  if (mailroom.generatedKey) {
    // Printed once, on the first start; only its hash is stored.
    process.stdout.write(
      `\nFirst start: an API key for the "default" account was created. It is shown only this once:\n\n    ${mailroom.generatedKey}\n\n` +
        `Send with:  curl -H "Authorization: Bearer ${mailroom.generatedKey}" ${mailroom.url ?? 'http://127.0.0.1:3000'}/emails ...\n\n`,
    );
  }
  stopOnSignals(() => mailroom.stop(), log);
  return 0;
}

export async function migrateCommand(options: CliOptions): Promise<number> {
  const config = loadConfig({ configFile: options.config });
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return 0;
  } finally {
    await db.close();
  }
}
