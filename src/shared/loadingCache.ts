/**
 * Values that every message asks for (an account's policy, whether a sender is verified, a
 * domain's MX route) kept for a while, with what every such cache needs:
 * - concurrent asks for one key share one load, so a burst when an entry runs out costs one
 *   query or look-up, not one per message;
 * - each value says how long it is good for (0: not kept, e.g. a temporary DNS failure);
 * - `invalidate` makes a change made through this process visible at once: a load that was
 *   already running when it was called is handed to its callers but not stored, since it may
 *   have read the old state;
 * - at most `maxEntries` are kept (past that the map is emptied: simple, and these caches hold
 *   far fewer in practice).
 */
export interface LoadingCacheOptions<V> {
  /** How long a loaded value is kept, in milliseconds. */
  ttlMs: (value: V) => number;
  maxEntries: number;
  now?: () => number;
}

export class LoadingCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();
  private readonly pending = new Map<K, Promise<V>>();
  /** Moved on by every invalidation: a load started before it does not store its value. */
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: LoadingCacheOptions<V>) {
    this.now = options.now ?? Date.now;
  }

  get(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.until > this.now()) return Promise.resolve(hit.value);
    const running = this.pending.get(key);
    if (running) return running;
    const generation = this.generation;
    const loading = load().then(
      (value) => {
        if (this.pending.get(key) === loading) this.pending.delete(key);
        const ttl = this.options.ttlMs(value);
        if (generation === this.generation && ttl > 0) {
          if (this.entries.size >= this.options.maxEntries) this.entries.clear();
          this.entries.set(key, { value, until: this.now() + ttl });
        }
        return value;
      },
      (error: unknown) => {
        if (this.pending.get(key) === loading) this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, loading);
    return loading;
  }

  /** The value kept for the key, if it is still good: for callers that must not wait on a load. */
  peek(key: K): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.until > this.now() ? hit.value : undefined;
  }

  /** Forgets the entries whose keys match (all without a test), and the loads running for them. */
  invalidate(matches?: (key: K) => boolean): void {
    this.generation++;
    for (const map of [this.entries, this.pending]) {
      for (const key of map.keys()) if (!matches || matches(key)) map.delete(key);
    }
  }
}
