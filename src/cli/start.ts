import { loadConfig } from '../config/load.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { startMailroom } from '../app.js';
import { createLogger } from '../shared/log.js';
import type { CliOptions } from './main.js';

export async function startCommand(options: CliOptions): Promise<number> {
  const config = loadConfig({ configFile: options.config, overrides: options.roles ? { roles: options.roles } : {} });
  const log = createLogger(config.logLevel);
  const mailroom = await startMailroom(config, log);
  if (mailroom.generatedKey) {
    // Printed once, on the first start; only its hash is stored.
    process.stdout.write(
      `\nFirst start: an API key for the "default" account was created. It is shown only this once:\n\n    ${mailroom.generatedKey}\n\n` +
        `Send with:  curl -H "Authorization: Bearer ${mailroom.generatedKey}" ${mailroom.url ?? 'http://127.0.0.1:3000'}/emails ...\n\n`,
    );
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn('second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'shutting down: finishing in-flight work');
    mailroom.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
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
