import type { CliOptions } from '../options.js';
import { ClientError, ClientUsageError } from './http.js';

export type ClientCommand = (args: string[], options: CliOptions) => Promise<number>;

/** The HTTP client commands, each loaded only when run. */
export const CLIENT_COMMANDS: Record<string, ClientCommand> = {
  send: async (args, options) => (await import('./send.js')).sendCommand(args, options),
  'send-bulk': async (args, options) => (await import('./sendBulk.js')).sendBulkCommand(args, options),
  tail: async (args, options) => (await import('./tail.js')).tailCommand(args, options),
  doctor: async (args, options) => (await import('./doctor.js')).doctorCommand(args, options),
  templates: async (args, options) => (await import('./templates.js')).templatesCommand(args, options),
  suppressions: async (args, options) => (await import('./suppressions.js')).suppressionsCommand(args, options),
};

/** Runs one, its refusals as one line: 2 for a wrong command line, 1 for what the server or the files refused. */
export async function runClientCommand(run: ClientCommand, args: string[], options: CliOptions): Promise<number> {
  try {
    return await run(args, options);
  } catch (error) {
    if (error instanceof ClientUsageError) {
      process.stderr.write(`mailroom: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ClientError) {
      if (options.json) process.stdout.write(`${JSON.stringify({ error: { message: error.message, status: error.status, code: error.code } })}\n`);
      process.stderr.write(`mailroom: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
