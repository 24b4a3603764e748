import { parentPort } from 'node:worker_threads';
import { KeyCache, prepareMessage, type PrepareJob } from './prepare.js';

/** A preparation thread (see preparePool.ts): composes and signs the jobs it is sent. */
const keys = new KeyCache();
parentPort?.on('message', (message: { id: number; job: PrepareJob }) => {
  prepareMessage(message.job, keys).then(
    ({ raw, signMs }) => parentPort?.postMessage({ id: message.id, raw, signMs }),
    (error: unknown) => parentPort?.postMessage({ id: message.id, error: (error as Error).message ?? String(error) }),
  );
});
