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
export interface BatcherOptions<T, R> {
  flush: (items: T[]) => Promise<R[]>;
  maxBatch: number;
  /** Flushes allowed to run at once (PostgreSQL: more than one, to use the pool). */
  maxConcurrent: number;
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
      const batch = this.queue.splice(0, this.options.maxBatch);
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
