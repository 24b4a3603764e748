import { randomFillSync } from 'node:crypto';

/**
 * Random bytes drawn from a refilled pool: one call into OpenSSL per 4 KiB instead of one per
 * id, IV or data key. `randomBytes` of a few bytes costs about 13 µs each (a HIPAA message takes
 * three: its data key and two IVs); a slice of the pool, well under one. Each slice is copied
 * out and zeroed in the pool, so key material does not linger there.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

export function randomBytesPooled(size: number): Buffer {
  if (size > pool.length) throw new Error(`at most ${pool.length} pooled random bytes at once`);
  if (poolOffset + size > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const slice = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size;
  const copy = Buffer.from(slice);
  slice.fill(0);
  return copy;
}
