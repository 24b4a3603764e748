import { loadConfig } from '../config/load.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { startMailroom, type Mailroom } from '../app.js';
import { listenerProblem } from './listenerError.js';
import { stopOnSignals } from './signals.js';
import { createLogger } from '../shared/log.js';
import type { CliOptions } from './options.js';
import { adminSocketPath, startAdminSocket, type AdminSocketServer } from './adminSocket.js';
import { runAdmin } from './adminRun.js';

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
  let adminSocket: AdminSocketServer | null = null;
  if (mailroom.db.kind === 'pglite') {
    // The server holds the embedded data directory: admin commands come to it (adminSocket.ts)
    // and run the same handlers against its open database.
    const { db, secrets } = mailroom;
    try {
      adminSocket = await startAdminSocket(adminSocketPath(config.dataDir), ({ argv, password, user }, out) => {
        log.info({ command: argv.slice(0, 2).join(' '), user }, 'admin command over the admin socket');
        return runAdmin(argv, { db, config, secrets, out, password, user }, { stacks: false });
      }, (error) => log.error({ err: error }, 'admin socket: command failed'));
      log.info({ path: adminSocket.path }, 'Mailroom admin socket listening');
    } catch (error) {
      // A path too long for a Unix socket, say: the server runs on, admin commands wait for it to stop.
      log.warn({ err: error }, 'admin socket not opened: admin commands need the server stopped');
    }
  }
  stopOnSignals(async () => {
    await adminSocket?.close();
    await mailroom.stop();
  }, log);
  return 0;
}

export async function migrateCommand(options: CliOptions): Promise<number> {
  const config = loadConfig({ configFile: options.config });
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db);
    console.log(options.json ? JSON.stringify({ applied }) : applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return 0;
  } finally {
    await db.close();
  }
}
