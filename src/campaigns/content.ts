import { htmlToPlainText } from '../sending/render.js';
import { renderTemplate, type PlaceholderValue } from '../templates/render.js';
import type { Campaign, CampaignRecipient } from './campaigns.js';

/**
 * A contact's placeholders: its attributes, then `email` and `name` (which no attribute can be
 * named: src/lists/attributes.ts reserves them). Null values are left out, so that a template's
 * default (or `{{^city}}...{{/city}}`) applies.
 */
export function placeholdersOf(recipient: CampaignRecipient): Record<string, PlaceholderValue> {
  const values: Record<string, PlaceholderValue> = {};
  for (const [key, value] of Object.entries(recipient.attributes)) if (value !== null) values[key] = value;
  values.email = recipient.email;
  if (recipient.name !== null) values.name = recipient.name;
  return values;
}

/** "Name" <address>, quoted so that any name is one display name. */
function addressee(recipient: CampaignRecipient): string {
  return recipient.name ? `${JSON.stringify(recipient.name)} <${recipient.email}>` : recipient.email;
}

/**
 * One recipient's POST /emails body: what the send pipeline validates, polices, renders and
 * stores like any other. Marketing always: the unsubscribe link and RFC 8058 headers are added at
 * delivery. A template campaign names its template (the version pinned at start) and lets the
 * pipeline fill it; inline content is a template too (mustache over the same placeholders),
 * rendered here. Throws the renderer's ApiError (PLACEHOLDER_MISSING...) for this recipient.
 */
export function messageFor(campaign: Campaign, recipient: CampaignRecipient, options: { counted: boolean }): Record<string, unknown> {
  const placeholders = placeholdersOf(recipient);
  const body: Record<string, unknown> = {
    to: addressee(recipient),
    from: campaign.from,
    type: 'marketing',
    ...(campaign.replyTo !== null ? { replyTo: campaign.replyTo } : {}),
    ...(campaign.tags.length > 0 ? { tags: campaign.tags } : {}),
    ...(campaign.trackOpens !== null ? { trackOpens: campaign.trackOpens } : {}),
    ...(campaign.trackClicks !== null ? { trackClicks: campaign.trackClicks } : {}),
    // A test send is not part of the campaign: no campaignId, so no report counts it.
    ...(options.counted ? { campaignId: campaign.id } : {}),
  };
  const inline = (subject: string, text: string | null, html: string | null) =>
    renderTemplate({ templateId: campaign.id, name: campaign.name, version: 1, subject, text, html, defaults: {} }, placeholders);
  if (campaign.templateId !== null) {
    return {
      ...body,
      templateId: campaign.templateId,
      ...(campaign.templateVersion !== null ? { templateVersion: campaign.templateVersion } : {}),
      // A subject of the campaign's own replaces the template's, filled the same way.
      ...(campaign.subject !== null ? { subject: inline(campaign.subject, null, null).subject } : {}),
      placeholders,
    };
  }
  const rendered = inline(campaign.subject ?? '', campaign.text, campaign.html);
  return {
    ...body,
    subject: rendered.subject,
    text: rendered.text ?? htmlToPlainText(rendered.html ?? ''),
    ...(rendered.html !== null ? { html: rendered.html } : {}),
  };
}
