/**
 * An HTML compatibility summary for the sandbox catcher: what in a message's HTML the common mail
 * clients drop or render differently. Data-driven: one rule per line, a pattern and what it means.
 * (From the email developers' common knowledge, as caniemail.com tabulates it; a hint, not a proof.)
 */
export interface HtmlRule {
  id: string;
  pattern: RegExp;
  severity: 'problem' | 'warning';
  message: string;
}

export const HTML_RULES: readonly HtmlRule[] = [
  { id: 'script', pattern: /<script\b/i, severity: 'problem', message: 'Scripts never run in mail clients, and some spam filters score them.' },
  { id: 'form', pattern: /<form\b/i, severity: 'problem', message: 'Forms are disabled or stripped by most clients (Gmail, Outlook).' },
  { id: 'iframe', pattern: /<(iframe|object|embed)\b/i, severity: 'problem', message: 'Frames and embedded objects are removed by every major client.' },
  { id: 'video', pattern: /<(video|audio)\b/i, severity: 'warning', message: 'Video and audio play only in Apple Mail and a few others; give a fallback image and link.' },
  { id: 'external-css', pattern: /<link\b[^>]*rel=["']?stylesheet/i, severity: 'problem', message: 'Linked style sheets are not loaded by Gmail or Outlook; inline the styles.' },
  { id: 'position', pattern: /position\s*:\s*(absolute|fixed|relative)/i, severity: 'warning', message: 'CSS position is ignored by Gmail and Outlook.' },
  { id: 'flex-grid', pattern: /display\s*:\s*(flex|grid|inline-flex)/i, severity: 'warning', message: 'Flexbox and grid are not supported by Outlook for Windows; use tables for layout.' },
  { id: 'background-image', pattern: /background(-image)?\s*:[^;"']*url\(/i, severity: 'warning', message: 'CSS background images are not shown by Outlook for Windows.' },
  { id: 'svg', pattern: /<svg\b/i, severity: 'warning', message: 'Inline SVG is not shown by Gmail or Outlook; use PNG.' },
  { id: 'webfont', pattern: /@font-face|fonts\.googleapis\.com/i, severity: 'warning', message: 'Web fonts load only in some clients; name fallback fonts.' },
  { id: 'img-alt', pattern: /<img\b(?![^>]*\balt=)[^>]*>/i, severity: 'warning', message: 'An image without alt text: clients that block images show nothing in its place.' },
];

/** Gmail clips a message whose HTML is over about 102 KB, hiding the rest behind a link. */
export const GMAIL_CLIP_BYTES = 102 * 1024;

export interface HtmlFinding {
  id: string;
  severity: HtmlRule['severity'];
  message: string;
}

export function checkHtml(html: string): HtmlFinding[] {
  const findings: HtmlFinding[] = HTML_RULES.filter((rule) => rule.pattern.test(html)).map(({ id, severity, message }) => ({ id, severity, message }));
  const bytes = new TextEncoder().encode(html).length;
  if (bytes > GMAIL_CLIP_BYTES) findings.push({ id: 'size', severity: 'warning', message: `The HTML is ${Math.round(bytes / 1024)} KB: Gmail clips messages over about 102 KB.` });
  return findings;
}
