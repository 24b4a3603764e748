import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the suite runs from: the TypeScript through tsx, or the transpiled copy that
 * scripts/run-tests.mjs writes into `<repository>/.test-build-<pid>/` (whose top level links back
 * to the repository's files). A child process runs the CLI in the same form as its parent.
 */
const TOP = fileURLToPath(new URL('../../', import.meta.url));
const TRANSPILED = import.meta.url.endsWith('.js');

/** The repository's own directory (not the transpiled copy's). */
export const REPOSITORY = basename(TOP).startsWith('.test-build-') ? dirname(TOP) : TOP;

/** `../shared` beside the repository: the product contract, its seeds and data. */
export const SHARED = join(REPOSITORY, '..', 'shared');

/** `mailroom` as node's arguments: `spawn(process.execPath, [...CLI_ARGS, 'keys', 'list'])`. */
export const CLI = join(TOP, 'src', 'cli', TRANSPILED ? 'main.js' : 'main.ts');
export const CLI_ARGS: readonly string[] = TRANSPILED ? [CLI] : ['--import', 'tsx', CLI];
