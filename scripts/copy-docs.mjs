// The API reference page (/docs, src/http/routes/docs.ts) serves Scalar's standalone build from
// dist/docs: copied here at build time, so that the page loads nothing from a CDN.
import { cpSync, existsSync, mkdirSync } from 'node:fs';

const source = 'node_modules/@scalar/api-reference/dist/browser/standalone.js';
if (existsSync(source)) {
  mkdirSync('dist/docs', { recursive: true });
  cpSync(source, 'dist/docs/scalar.js');
} else {
  // A production install without dev dependencies: /docs answers 503 and says so.
  console.warn(`copy-docs: ${source} not found (a devDependency); /docs will answer 503`);
}
