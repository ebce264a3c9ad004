import { siblingEntryUrl, startWorkerThread } from '../common/worker-thread.js';
import type { HostToWorker, WorkerToHost, WorkerTransport } from './protocol.js';

/** The worker entry, next to this file: `.js` when built, `.ts` when run from source (tests). */
export function workerEntryUrl(): URL {
  return siblingEntryUrl(import.meta.url, 'worker-main');
}

/** Runs a job in a Node worker thread (CLI, tests, and the test harness behind the renderer). */
export function launchThreadWorker(entry: URL = workerEntryUrl()): WorkerTransport {
  const worker = startWorkerThread(entry);
  return {
    post: (message: HostToWorker) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', (m: WorkerToHost) => listener(m)),
    onExit: (listener) => worker.once('exit', listener),
    kill: () => void worker.terminate(),
  };
}
