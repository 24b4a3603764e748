import { startTestApp } from '../../../test/helpers/app.js';
import type { OpenApiDocument } from './generator.js';

/**
 * Mailroom's OpenAPI document, from a Mailroom started in this process on a fresh database (the
 * same way the tests start one): the document is what the running routes declare, so the SDK is
 * generated from the API itself rather than from a copy that could drift.
 */
export async function loadOpenApiDocument(): Promise<OpenApiDocument> {
  const app = await startTestApp();
  try {
    const response = await app.api('/openapi.json', { key: null });
    if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}`);
    return (await response.json()) as OpenApiDocument;
  } finally {
    await app.stop();
  }
}
