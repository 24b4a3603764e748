import type { SealContext, Sealer } from './sealed.js';

/**
 * Opens sealed values through a bounded memo, for hot paths that open the same few values again
 * and again (the webhook dispatcher signs every delivery of a lane with one secret). Keyed by the
 * context as well as the sealed text, so a value is only ever handed out for the context it
 * opened in.
 */
export class OpenCache {
  private readonly opened = new Map<string, string>();

  constructor(private readonly sealer: Sealer, private readonly maxEntries = 1_000) {}

  open(value: string, context: SealContext): string {
    const key = `${context.purpose}\0${context.owner}\0${value}`;
    let plaintext = this.opened.get(key);
    if (plaintext === undefined) {
      plaintext = this.sealer.open(value, context);
      // Past the bound the memo starts over: simple, and a process signs for far fewer endpoints.
      if (this.opened.size >= this.maxEntries) this.opened.clear();
      this.opened.set(key, plaintext);
    }
    return plaintext;
  }
}
