import { ApiError } from '../shared/errors.js';
import { renderTemplate } from '../templates/render.js';
import type { TemplateStore } from '../templates/templates.js';
import { htmlToPlainText } from './render.js';

/**
 * The render step's first half: a request naming `templateId` gets its subject, text and HTML
 * from the template, with `placeholders` over the template's defaults. Parts the request gives
 * itself win (a subject for one send, say). Anything malformed here (a templateId that is not a
 * string) is left for validation to name.
 */
export async function applyTemplate(store: TemplateStore, accountId: number, body: unknown): Promise<unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const request = body as Record<string, unknown>;
  if (typeof request.templateId !== 'string') return body;
  const version = typeof request.templateVersion === 'number' ? request.templateVersion : undefined;
  const template = await store.get(accountId, request.templateId, version);
  if (!template) {
    throw new ApiError(422, 'TEMPLATE_NOT_FOUND', `This account has no template ${JSON.stringify(request.templateId)}${version === undefined ? '' : ` with version ${version}`}.`, [
      { field: version === undefined ? 'templateId' : 'templateVersion', message: 'names no template of this account' },
    ]);
  }
  const rendered = renderTemplate(template, request.placeholders as Record<string, unknown> | undefined);
  const html = request.html ?? rendered.html ?? undefined;
  const text = request.text ?? rendered.text ?? (typeof html === 'string' ? htmlToPlainText(html) : undefined);
  return { ...request, subject: request.subject ?? rendered.subject, text, ...(html === undefined ? {} : { html }) };
}
