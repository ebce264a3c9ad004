import { Worker } from 'node:worker_threads';

import type { HostToWorker, WorkerToHost, WorkerTransport } from './protocol.js';

/** The worker entry, next to this file: `.js` when built, `.ts` when run from source (tests). */
export function workerEntryUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./worker-main${ext}`, import.meta.url);
}

/**
 * A worker running TypeScript sources needs tsx's loader registered inside the worker before the
 * entry is imported (Node 20 ignores `--import` in a worker's execArgv). Built code needs nothing.
 */
function createWorker(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `(async () => {
    const { register } = await import(${JSON.stringify(tsxApi)});
    register();
    await import(${JSON.stringify(entry.href)});
  })();`;
  return new Worker(bootstrap, { eval: true });
}

/** Runs a job in a Node worker thread (CLI, tests, and the test harness behind the renderer). */
export function launchThreadWorker(entry: URL = workerEntryUrl()): WorkerTransport {
  const worker = createWorker(entry);
  return {
    post: (message: HostToWorker) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', (m: WorkerToHost) => listener(m)),
    onExit: (listener) => worker.once('exit', listener),
    kill: () => void worker.terminate(),
  };
}
