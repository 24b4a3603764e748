/**
 * `npm run bench -- NAME [options]`: runs the benchmark in bench/NAME.ts.
 *
 * A benchmark is a module next to this file that exports
 *   run(args: string[]): Promise<number | void>   (the exit code; 0 when omitted)
 *   description?: string                          (one line, shown in the list)
 * Helpers live in bench/lib/ and are not benchmarks.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError } from './lib/args.js';
import { runCleanups } from './lib/cleanup.js';

export interface Benchmark {
  run(args: string[]): Promise<number | void>;
  description?: string;
}

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const NAME = /^[a-z][a-z0-9-]*$/;

function available(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && file !== 'run.ts')
    .map((file) => file.slice(0, -'.ts'.length))
    .filter((name) => NAME.test(name))
    .sort();
}

async function load(name: string): Promise<Benchmark> {
  const module = (await import(pathToFileURL(`${BENCH_DIR}/${name}.ts`).href)) as Partial<Benchmark>;
  if (typeof module.run !== 'function') throw new Error(`bench/${name}.ts does not export a run(args) function`);
  return module as Benchmark;
}

async function list(): Promise<string> {
  const lines = [];
  for (const name of available()) {
    const description = await load(name).then(
      (benchmark) => benchmark.description ?? '',
      (error: unknown) => `(cannot load: ${(error as Error).message})`,
    );
    lines.push(`  ${name.padEnd(16)} ${description}`);
  }
  return `usage: npm run bench -- NAME [options]   (NAME --help for its options)\n\nbenchmarks:\n${lines.join('\n')}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'list') {
    console.log(await list());
    return name ? 0 : 1;
  }
  if (!NAME.test(name) || !available().includes(name)) {
    console.error(`unknown benchmark "${name}"\n\n${await list()}`);
    return 1;
  }
  const benchmark = await load(name);
  return (await benchmark.run(args)) ?? 0;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: stopping child processes and dropping scratch databases (again to exit at once)`);
    void runCleanups().finally(() => process.exit(130));
  });
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof UsageError ? error.message : error);
      process.exitCode = error instanceof UsageError ? 2 : 1;
    },
  )
  .finally(() => runCleanups());
