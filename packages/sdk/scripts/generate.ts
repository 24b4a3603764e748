/**
 * Writes packages/sdk/src/generated.ts from the OpenAPI document of a Mailroom started in process.
 * Run with `npm run sdk:generate` after changing a route's schema.
 */
import { writeFile } from 'node:fs/promises';
import { generateSource } from './generator.js';
import { loadOpenApiDocument } from './openApiDocument.js';

const GENERATED_FILE = new URL('../src/generated.ts', import.meta.url);

const source = generateSource(await loadOpenApiDocument());
await writeFile(GENERATED_FILE, source);
console.log(`wrote ${GENERATED_FILE.pathname} (${source.length} characters)`);
