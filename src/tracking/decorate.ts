import type { ComposedContent, Content } from '../sending/render.js';
import { UNSUBSCRIBE_FIELDS } from '../sending/reservedHeaders.js';
import type { TrackingLinks } from './links.js';
import { rewriteHtml, type HtmlRewrite } from './rewriteHtml.js';

/** What an account tracks when a message does not say (accounts.track_opens / track_clicks). */
export interface TrackingDefaults {
  trackOpens: boolean;
  trackClicks: boolean;
}

export interface TrackingPlan {
  opens: boolean;
  clicks: boolean;
  /** The anchor text of the unsubscribe link, or null for none. */
  unsubscribe: string | null;
}

/** Anchor text when marketing mail names none (`unsubscribeMsg`). */
export const DEFAULT_UNSUBSCRIBE_TEXT = 'Unsubscribe';

/**
 * What is added to a message at delivery: the message's own choice, else the account's. An
 * unsubscribe link goes into every marketing message, and into any other that asked for one.
 */
export function trackingPlan(content: Content, defaults: TrackingDefaults): TrackingPlan {
  const unsubscribeMsg = content.kind === 'raw' ? null : content.unsubscribeMsg;
  return {
    opens: content.trackOpens ?? defaults.trackOpens,
    clicks: content.trackClicks ?? defaults.trackClicks,
    unsubscribe: unsubscribeMsg ?? (content.type === 'marketing' ? DEFAULT_UNSUBSCRIBE_TEXT : null),
  };
}

/**
 * The composed content as sent: links rewritten and the pixel added to the HTML part, the
 * unsubscribe link added to the HTML and plain-text parts, and the RFC 8058 header fields
 * (DKIM signs both). Click tracking never touches the plain-text part and nothing touches the
 * attachments. Deterministic: every attempt sends the same bytes.
 */
export function decorateComposed(content: ComposedContent, messageId: string, plan: TrackingPlan, links: TrackingLinks): ComposedContent {
  if (!plan.opens && !plan.clicks && plan.unsubscribe === null) return content;
  const unsubscribeUrl = plan.unsubscribe === null ? null : links.unsubscribeUrl(messageId);
  const html = content.html === null ? null : rewriteHtml(content.html, htmlRewrite(messageId, plan, links));
  let { text, plain } = content;
  const headers = { ...content.headers };
  if (plan.unsubscribe !== null && unsubscribeUrl !== null) {
    const line = `\n\n${plan.unsubscribe}: ${unsubscribeUrl}\n`;
    // The plain-text part is `plain` when it was derived from HTML, otherwise `text` itself.
    if (plain !== null) plain = plain + line;
    else text = text + line;
    // Mailroom's fields always win: a caller's own (a message stored before the headers field
    // refused them) would send a one-click unsubscribe past the suppression list.
    for (const name of Object.keys(headers)) if (UNSUBSCRIBE_FIELDS.has(name.toLowerCase())) delete headers[name];
    headers['List-Unsubscribe'] = `<${unsubscribeUrl}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  return { ...content, html, text, plain, headers };
}

/** What tracking does to an HTML body: its links (with click tracking) and what is added at its end. */
export function htmlRewrite(messageId: string, plan: TrackingPlan, links: TrackingLinks): HtmlRewrite {
  let append = '';
  if (plan.unsubscribe !== null) append += `<p style="font-size:12px"><a href="${links.unsubscribeUrl(messageId)}">${escapeHtml(plan.unsubscribe)}</a></p>`;
  if (plan.opens) append += `<img src="${links.openUrl(messageId)}" width="1" height="1" alt="" style="border:0;width:1px;height:1px">`;
  return { link: plan.clicks ? (url, index) => links.clickUrl(messageId, index, url) : undefined, append };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
