import { Parser } from 'htmlparser2';

/**
 * Rewrites an HTML body for tracking by splicing: the href values of tracked links are replaced,
 * and the additions go before `</body>` (or at the end). Every other byte of the document stays
 * as written: no parse-and-serialise round trip, which would re-quote attributes, re-encode
 * entities and "repair" markup that mail clients render as it is. htmlparser2 (the tokenizer
 * html-to-text uses here already) gives the source positions and decodes the href as a browser
 * would (`&amp;` is `&`).
 */
export interface HtmlRewrite {
  /** The tracked URL for the link at this position (0-based, document order), or null to leave it. */
  link?: (url: string, index: number) => string | null;
  /** Markup added at the end of the body (the open pixel, the unsubscribe link). */
  append?: string;
}

/** A link with this attribute is never tracked (the attribute itself is removed). */
export const NO_TRACK_ATTRIBUTE = 'data-mailroom-no-track';

interface Span {
  start: number;
  end: number;
}

interface Splice extends Span {
  text: string;
}

export function rewriteHtml(html: string, rewrite: HtmlRewrite): string {
  const splices: Splice[] = [];
  let href: (Span & { value: string }) | null = null;
  let noTrack: Span | null = null;
  let bodyClose = -1;
  let linkIndex = 0;
  const parser = new Parser({
    onattribute(name, value, quote) {
      // Quoted values end at their closing quote (inclusive index); the others just before it.
      const span = { start: parser.startIndex, end: quote === '"' || quote === "'" ? parser.endIndex + 1 : parser.endIndex };
      if (name === 'href' && href === null) href = { ...span, value };
      else if (name === NO_TRACK_ATTRIBUTE) noTrack = span;
    },
    onopentag(name) {
      const found: (Span & { value: string }) | null = href;
      const optOut: Span | null = noTrack;
      href = null;
      noTrack = null;
      if ((name !== 'a' && name !== 'area') || !rewrite.link) return;
      if (optOut) {
        splices.push({ ...optOut, text: '' });
        return;
      }
      if (!found || !/^https?:\/\//i.test(found.value.trim())) return;
      const tracked = rewrite.link(found.value.trim(), linkIndex++);
      if (tracked !== null) splices.push({ start: found.start, end: found.end, text: `href="${tracked}"` });
    },
    onclosetag(name) {
      if (name === 'body' && html.slice(parser.startIndex, parser.startIndex + 6).toLowerCase() === '</body') bodyClose = parser.startIndex;
    },
  }, { decodeEntities: true });
  parser.write(html);
  parser.end();

  if (rewrite.append) splices.push({ start: bodyClose >= 0 ? bodyClose : html.length, end: bodyClose >= 0 ? bodyClose : html.length, text: rewrite.append });
  splices.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const splice of splices) {
    out += html.slice(at, splice.start) + splice.text;
    at = splice.end;
  }
  return out + html.slice(at);
}
