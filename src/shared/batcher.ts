/**
 * Group commit: callers submit items and wait; items that arrive while a flush is running are
 * gathered and flushed together by the next one. A flush starts on setImmediate, after the
 * I/O callbacks of the current turn of the event loop, so requests parsed in the same turn share
 * it (without that, an idle batcher would flush every request alone). No timer: a single caller
 * waits one turn, not milliseconds.
 *
 * If a whole batch fails, each item is retried alone so that one bad item fails only its own
 * caller.
 */
/**
 * The bytes of message content one group-commit statement may carry (with `maxWeight`): past it,
 * items wait for the next statement. Small messages still share a statement by the hundred; a
 * 10 MB one goes alone. PGlite needs many times a statement's size in WASM memory to run it (the
 * JSON text, its parsed jsonb, the rows of each step), and never gives that memory back.
 */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export interface BatcherOptions<T, R> {
  flush: (items: T[]) => Promise<R[]>;
  maxBatch: number;
  /** Flushes allowed to run at once (PostgreSQL: more than one, to use the pool). */
  maxConcurrent: number;
  /**
   * What one batch may weigh (with `weight`), e.g. its bytes: a batch closes before the item that
   * would take it past this, so that large items are flushed alone or with a few others. One
   * statement of twenty 13 MB messages grew PGlite's WASM memory by a gigabyte, which it never
   * gives back. An item heavier than the cap still goes, alone.
   */
  maxWeight?: number;
  weight?: (item: T) => number;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class Batcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private running = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: BatcherOptions<T, R>) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Resolves when nothing is queued or being flushed. */
  async drain(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0 && !this.scheduled) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.queue.length > 0 && this.running < this.options.maxConcurrent) {
      const batch = this.queue.splice(0, this.batchLength());
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        this.pump();
        if (this.queue.length === 0 && this.running === 0) {
          for (const wake of this.idleWaiters.splice(0)) wake();
        }
      });
    }
  }

  /** How many queued items the next batch takes: up to maxBatch, and up to maxWeight (at least one). */
  private batchLength(): number {
    const { maxBatch, maxWeight, weight } = this.options;
    if (maxWeight === undefined || weight === undefined) return maxBatch;
    let total = 0;
    let length = 0;
    while (length < Math.min(maxBatch, this.queue.length)) {
      total += weight(this.queue[length]!.item);
      if (length > 0 && total > maxWeight) break;
      length++;
    }
    return length;
  }

  private async run(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.options.flush(batch.map((pending) => pending.item));
      batch.forEach((pending, index) => pending.resolve(results[index] as R));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      for (const pending of batch) {
        try {
          const [result] = await this.options.flush([pending.item]);
          pending.resolve(result as R);
        } catch (itemError) {
          pending.reject(itemError);
        }
      }
    }
  }
}
