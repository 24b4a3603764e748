import { userInfo } from 'node:os';
import { loadConfig } from '../config/load.js';
import { DataDirLockedError } from '../db/lockedError.js';
import { adminSocketPath, requestOverSocket } from './adminSocket.js';
import type { CliOptions } from './options.js';
import { consoleOutput } from './output.js';
import { readPassword, setsPassword } from './password.js';

/** The operating-system user (audit.ts has the same; importing it would load the server modules this path avoids). */
function operatingUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * An admin command from the terminal. On PostgreSQL it opens the database itself, as many
 * processes may. On the embedded database a running server holds the data directory: the
 * command line goes to its admin socket and runs there (adminSocket.ts); with no server
 * answering, this process opens the directory itself.
 */
export async function adminCommand(argv: string[], positionals: string[], options: CliOptions): Promise<number> {
  const config = loadConfig({ configFile: options.config });
  const password = setsPassword(positionals, options) ? await readPassword() : null;
  const request = { argv: argv.filter((arg, index) => !isConfigArg(argv, index)), password, user: operatingUser() };
  const socket = adminSocketPath(config.dataDir);
  if (!config.databaseUrl) {
    const answered = await requestOverSocket(socket, request, consoleOutput);
    if (answered !== null) return answered;
  }
  const { runAdminLocally } = await import('./adminLocal.js');
  try {
    return await runAdminLocally(argv, options.config, password);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    // A server that was still starting when the socket was tried may be listening now.
    const answered = await requestOverSocket(socket, request, consoleOutput);
    if (answered !== null) return answered;
    throw new DataDirLockedError(`${error.message}, and it does not answer on ${socket} (is it a Mailroom older than its admin socket?)`);
  }
}

/** --config names a file of the client's: the server runs with its own configuration. */
function isConfigArg(argv: string[], index: number): boolean {
  const arg = argv[index]!;
  return arg === '--config' || arg.startsWith('--config=') || (index > 0 && argv[index - 1] === '--config');
}
