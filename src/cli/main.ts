#!/usr/bin/env node
import { ConfigError } from '../config/load.js';
import { DataDirLockedError } from '../db/lockedError.js';
import { ADMIN_COMMANDS } from './adminCommands.js';
import { COMMAND_HELP, USAGE } from './help.js';
import { parseCli } from './options.js';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv);
  const [command, ...rest] = positionals;
  if (command === 'help' || !command) {
    const topic = command === 'help' ? rest[0] : undefined;
    console.log(topic && COMMAND_HELP[topic] ? COMMAND_HELP[topic] : USAGE);
    return command || values.help ? 0 : 1;
  }
  if (values.help) {
    console.log(COMMAND_HELP[command] ?? USAGE);
    return COMMAND_HELP[command] ? 0 : 1;
  }
  // Each command loads only its own modules: `start` loads the whole server (about a second of
  // module loading), which an admin command run from a script should not pay, and the HTTP
  // client commands load no server module at all.
  if (command === 'start') return (await import('./start.js')).startCommand(values);
  if (command === 'migrate') return (await import('./start.js')).migrateCommand(values);
  if (command === 'bounce') return (await import('./bounce.js')).bounceCommand(rest);
  if (ADMIN_COMMANDS.has(command)) return (await import('./adminClient.js')).adminCommand(argv, positionals, values);
  const client = await import('./client/commands.js');
  const run = client.CLIENT_COMMANDS[command];
  if (!run) {
    console.error(`mailroom: unknown command "${command}"\n\n${USAGE}`);
    return 1;
  }
  return client.runClientCommand(run, rest, values);
}


main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'start') process.exitCode = code;
  },
  (error: unknown) => {
    // The admin commands answer their own refusals (adminRun.ts), the client commands theirs (client/commands.ts).
    const known = error instanceof ConfigError || error instanceof DataDirLockedError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_');
    console.error(`mailroom: ${known ? (error as Error).message : (error as Error).stack}`);
    process.exitCode = 1;
  },
);
