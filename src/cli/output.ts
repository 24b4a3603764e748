/**
 * Where a command writes. Admin commands write through one of these instead of console.*, so
 * that the same handler answers at a terminal and, inside the server, over the admin socket.
 */
export interface CliOutput {
  /** One line of the command's result (standard output). */
  out(line: string): void;
  /** One line of diagnostics (standard error). */
  err(line: string): void;
  /** The command's result as data, for --json (the lines above are for people). */
  result(value: unknown): void;
}

export const consoleOutput: CliOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  result: () => {},
};

/**
 * --json for an admin command: its lines are kept, and one JSON object is written at the end:
 * {"ok", "exitCode", "result" (what the command gave as data, if any), "output", "errors"}.
 */
export function jsonOutput(target: CliOutput): { output: CliOutput; finish(exitCode: number): void } {
  const output: string[] = [];
  const errors: string[] = [];
  let result: unknown;
  return {
    output: { out: (line) => output.push(line), err: (line) => errors.push(line), result: (value) => (result = value) },
    finish(exitCode) {
      target.out(JSON.stringify({ ok: exitCode === 0, exitCode, ...(result === undefined ? {} : { result }), output, errors }));
    },
  };
}
