/** Addresses as reports write them: "rfc822; <a@b>", "<a@b>:", "\"a@b\"", with the domain in any case. */

// The local part starts where a run of address characters starts (the lookbehind): without it a
// long run with no "@" was scanned again from each of its characters, quadratic in its length
// (80 KB took 8 s), and a bounce's text or header is input from anyone.
const ADDRESS = /(?<![^\s<>"'(),;:[\]])[^\s<>"'(),;:[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*/;

export function findAddress(text: string): string {
  const match = ADDRESS.exec(text);
  return match ? normalizeAddress(match[0]) : '';
}

export function findAddresses(text: string): string[] {
  return [...text.matchAll(new RegExp(ADDRESS.source, 'g'))].map((match) => normalizeAddress(match[0]));
}

/** The local part keeps its case (it may matter to the server); the domain does not. */
export function normalizeAddress(address: string): string {
  const cleaned = address.trim().replace(/^[<"'(]+|[>"'),.;:]+$/g, '');
  const at = cleaned.lastIndexOf('@');
  if (at <= 0 || at === cleaned.length - 1) return '';
  return `${cleaned.slice(0, at)}@${cleaned.slice(at + 1).toLowerCase()}`;
}

export function sameAddress(a: string, b: string): boolean {
  return a !== '' && a.toLowerCase() === b.toLowerCase();
}

/** The address part of a typed DSN field value: "rfc822; a@b" or "rfc822;<a@b>". */
export function typedAddress(value: string): string {
  const semicolon = value.indexOf(';');
  return findAddress(semicolon === -1 ? value : value.slice(semicolon + 1));
}
