import { loadConfig } from '../config/load.js';
import { loadKeyRing } from '../config/secrets.js';
import { Sealer } from '../crypto/sealed.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { runAdmin } from './adminRun.js';
import { operatingUser } from './audit.js';
import { consoleOutput } from './output.js';

/** Runs an admin command in this process, on a database it opens itself (PostgreSQL, or PGlite when no server holds it). */
export async function runAdminLocally(argv: string[], configFile: string | undefined, password: string | null): Promise<number> {
  const config = loadConfig({ configFile });
  const db = await openDatabase(config);
  try {
    await migrate(db);
    return await runAdmin(argv, { db, config, secrets: new Sealer(loadKeyRing(config)), out: consoleOutput, password, user: operatingUser() }, { stacks: true });
  } finally {
    await db.close();
  }
}
