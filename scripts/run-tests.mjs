// Runs every *.test.ts under the given folder with Node's test runner (TypeScript through tsx).
// Node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { URL, fileURLToPath } from 'node:url';
import { removeTranspiled, transpileTests } from './transpile-tests.mjs';

const root = process.argv[2] ?? 'test';
const only = process.argv.slice(3);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts') && (only.length === 0 || only.some((part) => path.includes(part)))) files.push(path);
  }
})(root);
// The longest files start first (each takes 20-70 s of the whole run's 9-10 minutes): with two
// at a time, one of them starting last would leave the other slot idle while it finishes.
const LONGEST_FIRST = [
  'queue/chaos.test.ts', 'http/fuzz.test.ts', 'sending/largeMessagesMemory.test.ts', 'cli/cli.test.ts', 'campaigns/crash.test.ts',
  'smtp/fuzz.test.ts', 'accounts/ipAllowances.test.ts', 'queue/crashRecovery.test.ts', 'smtp/crash.test.ts', 'secrets/rotation.test.ts',
];
const rank = (path) => {
  const index = LONGEST_FIRST.findIndex((suffix) => path.endsWith(suffix));
  return index === -1 ? LONGEST_FIRST.length : index;
};
files.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
// The process tests: Mailroom run as separate processes that are killed, restarted or driven
// from the command line (workers, feeders and SMTP servers SIGKILLed mid-work, twenty 10 MB
// messages' memory, `npm start` killed, first starts that fail, the CLI against a running
// server). Each starts processes of its own, slow on two cores: `npm test` leaves them out to
// stay under ten minutes, `npm run test:resilience` runs them alone, and CI runs them on both
// databases (.ci/run steps 4 and 5).
// MAILROOM_TEST_RESILIENCE: unset, without them; 1, with them; only, nothing else.
const RESILIENCE = [
  'queue/chaos.test.ts', 'queue/crash.test.ts', 'queue/crashRecovery.test.ts', 'queue/shutdown.test.ts', 'smtp/crash.test.ts',
  'campaigns/crash.test.ts', 'sending/largeMessagesMemory.test.ts',
  'cli/npmStart.test.ts', 'cli/firstStart.test.ts', 'cli/cli.test.ts', 'cli/client.test.ts', 'cli/whileRunning.test.ts',
];
const resilience = process.env.MAILROOM_TEST_RESILIENCE ?? '';
const isResilience = (path) => RESILIENCE.some((suffix) => path.endsWith(suffix));
if (root === 'test' && only.length === 0 && resilience !== '1') {
  const kept = files.filter((path) => (resilience === 'only') === isResilience(path));
  files.splice(0, files.length, ...kept);
}
if (files.length === 0) {
  console.error(`no test files under ${root}`);
  process.exit(1);
}
const concurrency = process.env.MAILROOM_TEST_CONCURRENCY ?? '2';
// The Mailroom suites (test, test-interop) run transpiled (scripts/transpile-tests.mjs says why);
// MAILROOM_TEST_TSX=1 runs them through tsx instead. The console's tests stay on tsx (they are few,
// and import the console's own TSX).
const transpile = (root === 'test' || root === 'test-interop') && process.env.MAILROOM_TEST_TSX !== '1';
let out = null;
const stop = () => {
  if (out) removeTranspiled(out);
};
let args;
if (transpile) {
  const repository = fileURLToPath(new URL('..', import.meta.url));
  out = await transpileTests(repository);
  process.once('SIGINT', () => (stop(), process.exit(130)));
  process.once('SIGTERM', () => (stop(), process.exit(143)));
  args = files.map((path) => join(out, relative(repository, resolve(path)).replace(/\.ts$/, '.js')));
} else {
  args = ['--import', 'tsx', ...files];
}
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...args], { stdio: 'inherit' });
stop();
process.exit(result.status ?? 1);
