import { Parser } from 'htmlparser2';

/** A link or image a message points at, where it was found. */
export interface FoundLink {
  url: string;
  kind: 'link' | 'image';
  /** The anchor's text (links in HTML), for the reader to tell links apart. */
  text: string | null;
}

/** More than this many distinct targets are not checked: a newsletter rarely has 50; a hostile message could have millions. */
export const MAX_LINKS = 100;
const MAX_TEXT = 120;
const LINK_ATTRIBUTES: Record<string, { attribute: string; kind: FoundLink['kind'] }> = {
  a: { attribute: 'href', kind: 'link' },
  area: { attribute: 'href', kind: 'link' },
  img: { attribute: 'src', kind: 'image' },
};
/** A URL in plain text: up to white space or a character no mail client takes into a link. */
const TEXT_URL = /\bhttps?:\/\/[^\s<>"'`{}|\\^]+/gi;
/** Punctuation that ends a sentence rather than the URL ("see https://x.example/a."). */
const TRAILING = /[.,;:!?)\]]+$/;

/**
 * Every distinct link and image target of a message's HTML part (href of a and area, src of img)
 * and the URLs written out in its plain-text part, in order of first appearance. htmlparser2 is the
 * tokenizer the tracking rewrite uses, so both see the same links.
 */
export function extractLinks(html: string | null, text: string | null): FoundLink[] {
  const found = new Map<string, FoundLink>();
  const add = (url: string, kind: FoundLink['kind'], label: string | null) => {
    const trimmed = url.trim();
    if (!trimmed || found.size >= MAX_LINKS || found.has(trimmed)) return;
    found.set(trimmed, { url: trimmed, kind, text: label });
  };
  if (html) {
    let open: { url: string; text: string } | null = null;
    const parser = new Parser(
      {
        onopentag(name, attributes) {
          const rule = LINK_ATTRIBUTES[name];
          const value = rule ? attributes[rule.attribute] : undefined;
          if (!rule || value === undefined) return;
          if (rule.kind === 'image') add(value, 'image', attributes.alt?.slice(0, MAX_TEXT) || null);
          else open = { url: value, text: '' };
        },
        ontext(chunk) {
          if (open && open.text.length < MAX_TEXT) open.text += chunk;
        },
        onclosetag(name) {
          if ((name === 'a' || name === 'area') && open) {
            const label = open.text.replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);
            add(open.url, 'link', label || null);
            open = null;
          }
        },
      },
      { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
    );
    parser.write(html);
    parser.end();
    if (open) add((open as { url: string }).url, 'link', null);
  }
  for (const match of (text ?? '').matchAll(TEXT_URL)) add(match[0].replace(TRAILING, ''), 'link', null);
  return [...found.values()];
}
