// tsc compiles the TypeScript; the SQL files the modules read at run time are copied beside them.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.sql')) cpSync(path, path.replace(/^src/, 'dist'));
  }
}
walk('src');
