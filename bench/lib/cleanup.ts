/**
 * Things a benchmark must undo even when it is interrupted (child processes, scratch databases,
 * temporary directories). Registered disposers run newest first, once each.
 */
type Disposer = () => Promise<void> | void;

const disposers: Disposer[] = [];

/** Registers a disposer; the returned function runs it now (and unregisters it). */
export function onCleanup(dispose: Disposer): () => Promise<void> {
  disposers.push(dispose);
  return async () => {
    const index = disposers.lastIndexOf(dispose);
    if (index === -1) return;
    disposers.splice(index, 1);
    await dispose();
  };
}

/** Runs every pending disposer, newest first; errors are reported, not thrown. */
export async function runCleanups(): Promise<void> {
  while (disposers.length > 0) {
    const dispose = disposers.pop()!;
    try {
      await dispose();
    } catch (error) {
      console.error(`cleanup failed: ${(error as Error).message}`);
    }
  }
}
