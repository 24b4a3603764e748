import { escapeHtml } from '../tracking/decorate.js';

export interface ConfirmationMailInput {
  to: string;
  from: string;
  listName: string;
  url: string;
}

/**
 * The double opt-in mail: a POST /emails body for the pipeline. Transactional (no unsubscribe
 * footer: the person is not subscribed yet), untracked (the link must reach the page as it is),
 * and the link marked so that click tracking never rewrites it.
 */
export function confirmationMail(input: ConfirmationMailInput): Record<string, unknown> {
  const list = input.listName;
  return {
    to: input.to,
    from: input.from,
    subject: `Confirm your subscription to ${list}`,
    text: `Someone, hopefully you, asked to subscribe ${input.to} to "${list}".\n\nTo confirm, open this link within 7 days and press the button:\n\n${input.url}\n\nIf you did not ask for this, ignore this message: you will not be subscribed.\n`,
    html: `<p>Someone, hopefully you, asked to subscribe <b>${escapeHtml(input.to)}</b> to <b>${escapeHtml(list)}</b>.</p><p>To confirm, open this link within 7 days and press the button:</p><p><a href="${escapeHtml(input.url)}" data-mailroom-no-track>Confirm my subscription</a></p><p>If you did not ask for this, ignore this message: you will not be subscribed.</p>`,
    type: 'transactional',
    trackOpens: false,
    trackClicks: false,
    tags: ['list-confirmation'],
  };
}
