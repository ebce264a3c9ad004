import { Worker } from 'node:worker_threads';

import type { HostToWorker, WorkerToHost, WorkerTransport } from './protocol.js';

/** The worker entry, next to this file: `.js` when built, `.ts` when run from source (tests). */
export function workerEntryUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./worker-main${ext}`, import.meta.url);
}

/** Runs a job in a Node worker thread (CLI, tests, and the test harness behind the renderer). */
export function launchThreadWorker(entry: URL = workerEntryUrl()): WorkerTransport {
  // From source, the worker needs a TypeScript loader; built code runs as plain JavaScript.
  const execArgv = entry.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const worker = new Worker(entry, { execArgv });
  return {
    post: (message: HostToWorker) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', (m: WorkerToHost) => listener(m)),
    onExit: (listener) => worker.once('exit', listener),
    kill: () => void worker.terminate(),
  };
}
