import type { Config } from '../config/settings.js';
import type { Sealer } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import type { CliOptions } from './options.js';
import type { CliOutput } from './output.js';

/**
 * What an admin command runs with: the database and configuration of whoever runs it (this
 * process, or the server answering on its admin socket), where to write, and what only the
 * client process could learn (the password typed at its terminal, its operating-system user).
 */
export interface AdminContext {
  db: Database;
  config: Config;
  secrets: Sealer;
  out: CliOutput;
  /** The password read by the client process for `operators create --password` and `operators passwd`. */
  password: string | null;
  /** The operating-system user who ran the command (HIPAA accounts' audit log). */
  user: string;
}

export type AdminHandler = (args: string[], options: CliOptions, ctx: AdminContext) => Promise<number>;

/** A command line that is wrong: exit code 2, the message alone. */
export class UsageError extends Error {}
