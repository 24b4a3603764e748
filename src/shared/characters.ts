/**
 * Characters that are refused, never stripped, in what identifies something: an email address, a
 * domain name, a one-line name or description. Stripping is the bug this prevents: IDNA
 * (domainToASCII) silently drops CR, LF, TAB, zero-width and other ignorable characters, and the
 * URL parser drops TAB and line breaks, so the text that was checked is not the text that was
 * stored, logged, exported or written into a header.
 */

/**
 * Controls (C0 with CR, LF, TAB and NUL; DEL; C1), line and paragraph separators, and the bidi
 * controls that make text display in another order than it is stored.
 */
const NOT_ONE_LINE = /[\p{Cc}\p{Zl}\p{Zp}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/**
 * For addresses and domain names, also every invisible character: format characters
 * (zero-width space and joiners, soft hyphen, byte order mark), other default-ignorable ones
 * (variation selectors, combining grapheme joiner), and every space but U+0020 (which only a
 * quoted local part may hold).
 */
const NOT_IN_ADDRESS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/u;

export const ONE_LINE_PROBLEM = 'must be one line of text, without control characters (CR, LF, TAB, NUL, ...), line separators or bidi controls';
export const ADDRESS_CHARACTER_PROBLEM = 'must not contain control or invisible characters (CR, LF, TAB, NUL, zero-width or bidi characters, ...)';

/** Whether a name or description holds anything but one line of visible text. */
export function hasControlCharacters(text: string): boolean {
  return NOT_ONE_LINE.test(text);
}

/** Whether an address or a domain name holds a control or an invisible character. */
export function hasHiddenCharacters(text: string): boolean {
  return NOT_IN_ADDRESS.test(text);
}

/** A problem with a one-line name or description, or null. */
export function oneLineProblem(text: string | undefined): string | null {
  return text !== undefined && hasControlCharacters(text) ? ONE_LINE_PROBLEM : null;
}
