import { escapeHtml } from './decorate.js';

/**
 * The pages a recipient sees after following an unsubscribe link. Plain, self-contained HTML:
 * no script, no outside resource (nothing to track the recipient who is leaving).
 */
const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}';

/** A self-contained page (also the sender confirmation's). */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${title}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** Asks before unsubscribing; the form posts back to the same signed URL. */
export function confirmationPage(action: string): string {
  const target = escapeHtml(action);
  return page('Unsubscribe', `<h1>Unsubscribe</h1><p>Stop receiving these emails at this address?</p><form method="post" action="${target}"><input type="hidden" name="confirm" value="yes"><button type="submit">Unsubscribe</button></form>`);
}

export function unsubscribedPage(): string {
  return page('Unsubscribed', '<h1>You are unsubscribed</h1><p>This address will receive no more of these emails.</p>');
}
