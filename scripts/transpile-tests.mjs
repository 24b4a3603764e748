// Writes the suite as JavaScript into <root>/.test-build-<pid>/ so that each test file (a process
// of its own) and each CLI a test starts runs on plain Node. Through tsx every one of those
// processes paid about 1.2 s of CPU for the loader (measured on a test file that starts Mailroom:
// 6.9 s of CPU through tsx, 5.7 s transpiled); the suite starts some 200 of them on two cores.
// esbuild is what tsx itself transpiles with, with tsx's options, so the code that runs is the same.
//
// The copy keeps the repository's shape at the same depth: src, test, test-interop, packages and
// console are transpiled (every file in them is also a symbolic link to the original), and every other
// top-level entry (README.md, docs, dist, package.json, ...) is a link, so paths relative to a
// module (SQL beside its module, fixtures beside their test, ../../docs) resolve as they do in the
// repository. Only `../shared`, beside the repository, is one level further: test/helpers/paths.ts.
import { build } from 'esbuild';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const TRANSPILED = new Set(['src', 'test', 'test-interop', 'packages', 'console']);
const PREFIX = '.test-build-';

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Removes what runs that were killed left behind. */
function removeStale(root) {
  for (const name of readdirSync(root)) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (!Number.isInteger(pid) || !isAlive(pid)) rmSync(join(root, name), { recursive: true, force: true });
  }
}

/** Writes the copy and answers its directory; the caller removes it (removeTranspiled). */
export async function transpileTests(root) {
  removeStale(root);
  const out = join(root, `${PREFIX}${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  const entryPoints = [];
  const link = (target, path) => symlinkSync(relative(dirname(path), target), path);
  const walk = (dir) => {
    mkdirSync(join(out, relative(root, dir)), { recursive: true });
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === 'node_modules' || name === 'dist') link(path, join(out, relative(root, path)));
      else if (lstatSync(path).isDirectory()) walk(path);
      else {
        // The TypeScript stays beside its JavaScript: a few tests read sources as text.
        link(path, join(out, relative(root, path)));
        if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) entryPoints.push(path);
      }
    }
  };
  for (const name of readdirSync(root)) {
    if (name === '.git' || name.startsWith(PREFIX)) continue;
    const path = join(root, name);
    if (TRANSPILED.has(name) && lstatSync(path).isDirectory()) walk(path);
    else link(path, join(out, name));
  }
  await build({
    entryPoints,
    outdir: out,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    tsconfig: join(root, 'tsconfig.json'),
    keepNames: true,
    sourcemap: 'inline',
    logLevel: 'error',
  });
  return out;
}

export function removeTranspiled(out) {
  if (existsSync(out)) rmSync(out, { recursive: true, force: true });
}
