import { readFile } from 'node:fs/promises';
import { parseBounce } from '../bounces/parser/index.js';
import { splitMbox } from '../bounces/parser/mbox.js';

const USAGE = 'usage: mailroom bounce parse FILE...';

/**
 * `mailroom bounce parse FILE...`: one JSON line per message, in the order given, with the file's
 * name and the message's index in it: a file is one message (index 0) or an mbox of many. A file
 * that cannot be read is reported on stderr and makes the exit code 1, but does not stop the others.
 */
export async function bounceCommand(args: string[]): Promise<number> {
  const [subcommand, ...files] = args;
  if (subcommand !== 'parse' || files.length === 0) {
    console.error(USAGE);
    return 1;
  }
  let exitCode = 0;
  for (const file of files) {
    let raw: Buffer;
    try {
      raw = await readFile(file);
    } catch (error) {
      console.error(`mailroom: cannot read ${file}: ${(error as Error).message}`);
      exitCode = 1;
      continue;
    }
    splitMbox(raw).forEach((message, index) => {
      const report = parseBounce(message);
      const recipients = report.recipients.map(({ address, status, replyCode, reason, hard }) => ({ address, status, replyCode, reason, hard }));
      process.stdout.write(`${JSON.stringify({ file, index, bounce: report.bounce, recipients })}\n`);
    });
  }
  return exitCode;
}
