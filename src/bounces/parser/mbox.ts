/**
 * The messages of an mbox file (RFC 4155: each message starts with a "From " line; a body line
 * that itself began with "From " was written as ">From ", and mboxrd quotes every ">...From " one
 * level more). A file that does not start with a "From " line is one message, returned whole.
 *
 * Written here rather than taken from a library: the bounce parser reads whole messages
 * synchronously, and the mbox readers on npm are streaming parsers of a different shape; the
 * format is a separator line and one unquoting rule.
 *
 * A separator is "From " followed by a sender and an asctime date ("From MAILER-DAEMON Mon Jan 5
 * 10:00:00 2026"), so that an unquoted "From " sentence inside a body (mboxo writers that quote
 * nothing) does not split a message. Bytes are kept as they are (latin1 in, latin1 out).
 */
const SEPARATOR = /^From \S+ +.*\d{1,2}:\d\d(?::\d\d)?.*$/;

export function splitMbox(raw: Buffer): Buffer[] {
  const text = raw.toString('latin1');
  const lines = text.split('\n');
  if (!SEPARATOR.test(stripCr(lines[0] ?? ''))) return [raw];
  const messages: string[][] = [];
  for (const line of lines) {
    if (SEPARATOR.test(stripCr(line))) messages.push([]);
    else messages.at(-1)?.push(line.replace(/^>(>*From )/, '$1'));
  }
  return messages.map((message) => {
    // The blank line before the next separator belongs to the mbox, not to the message.
    while (message.length > 0 && stripCr(message.at(-1) ?? '') === '') message.pop();
    return Buffer.from(`${message.join('\n')}\n`, 'latin1');
  });
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
