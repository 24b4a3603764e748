import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Content } from '../sending/render.js';
import { SIGNED_HEADERS, type SigningKeyPem } from './dkim.js';
import { dkimSignatures } from './dkimSign.js';
import { composeMime } from './mime.js';
import { decorateComposed, type TrackingPlan } from '../tracking/decorate.js';
import { decorateRaw } from '../tracking/decorateRaw.js';
import type { TrackingLinks } from '../tracking/links.js';

/** Everything needed to turn a stored message into the bytes sent. */
export interface PrepareJob {
  content: Content;
  /** The submitted bytes of raw (SMTP) content; null for composed content. */
  body: Uint8Array | null;
  messageIdHeader: string;
  createdAt: number;
  keys: SigningKeyPem[];
  /** Open and click tracking and the unsubscribe link; absent: the content as stored. */
  tracking?: { messageId: string; plan: TrackingPlan; links: TrackingLinks };
}

export interface Prepared {
  raw: Buffer;
  /** Time from the start of signing until the signatures were ready, for the DKIM histogram. */
  signMs: number;
}

/** Parsed keys by PEM text: parsing RSA-2048 costs more than signing with it. */
export class KeyCache {
  private readonly keys = new Map<string, KeyObject>();

  get(pem: string): KeyObject {
    let key = this.keys.get(pem);
    if (!key) {
      if (this.keys.size > 10_000) this.keys.clear();
      key = createPrivateKey(pem);
      this.keys.set(pem, key);
    }
    return key;
  }
}

/**
 * Composes the MIME message (or takes the submitted one) and DKIM-signs it with every key given
 * (none: unsigned). Composing (about 40 µs) runs on the event loop; the private-key operations
 * run on libuv's thread pool.
 */
export async function prepareMessage(job: PrepareJob, keys: KeyCache): Promise<Prepared> {
  const composed = messageBytes(job);
  if (job.keys.length === 0) return { raw: composed, signMs: 0 };
  const started = performance.now();
  const specs = job.keys.map((key) => ({ domain: key.domain, selector: key.selector, algorithm: key.algorithm, key: keys.get(key.pem) }));
  const signatures = await dkimSignatures(composed, SIGNED_HEADERS, specs);
  const raw = Buffer.concat([Buffer.from(signatures, 'latin1'), composed]);
  return { raw, signMs: performance.now() - started };
}

function messageBytes(job: PrepareJob): Buffer {
  if (job.content.kind !== 'raw') {
    const { tracking } = job;
    const content = tracking ? decorateComposed(job.content, tracking.messageId, tracking.plan, tracking.links) : job.content;
    return composeMime(content, job.messageIdHeader, new Date(job.createdAt));
  }
  if (!job.body) throw new Error(`the body ${job.content.bodyId} of a submitted message is missing`);
  const submitted = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  return job.tracking ? decorateRaw(submitted, job.tracking.messageId, job.tracking.plan, job.tracking.links) : submitted;
}
