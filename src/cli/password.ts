import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { UsageError } from './adminContext.js';

/**
 * The password to set: MAILROOM_OPERATOR_PASSWORD (scripts), else the first line of standard
 * input when it is not a terminal (`echo ... | mailroom operators passwd`), else asked twice at
 * the terminal without echo. Never an argument: those show in `ps` and in shell history. It is
 * read in the process the operator runs, even when the command then runs inside the server.
 */
export async function readPassword(): Promise<string> {
  const fromEnv = process.env.MAILROOM_OPERATOR_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? '';
  }
  const first = await askHidden('Password: ');
  const again = await askHidden('Password again: ');
  if (first !== again) throw new UsageError('the two passwords differ');
  return first;
}

/** Whether this command line sets a password (and so needs one read before it runs). */
export function setsPassword(positionals: readonly string[], options: { password?: boolean | undefined; account?: string | undefined }): boolean {
  const [command, action, name] = positionals;
  // Without the account or the name the command fails on its usage: asking first would be rude.
  if (command !== 'operators' || !options.account || !name) return false;
  return action === 'passwd' || (action === 'create' && options.password === true);
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
