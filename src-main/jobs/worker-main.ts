/**
 * Entry point of a job worker: a worker thread under Node, a utilityProcess inside Electron.
 * It waits for one `start` message, runs that job, reports progress, and exits.
 */
import { parentPort } from 'node:worker_threads';

import { CancelledError, serializeError } from '../common/errors.js';
import { log } from '../common/log.js';
import type { ParsedJobRequest } from '../ipc/contract.js';
import { ProgressTracker } from './progress.js';
import type { HostToWorker, JobInputs, WorkerToHost } from './protocol.js';
import { runners, type JobContext } from './runners/index.js';

interface Port {
  post(message: WorkerToHost): void;
  onMessage(listener: (message: HostToWorker) => void): void;
  close(): void;
}

/** Electron's utilityProcess exposes `process.parentPort`; Node's worker threads `parentPort`. */
function connect(): Port {
  const electronPort = (process as { parentPort?: Electron.ParentPort }).parentPort;
  if (electronPort) {
    return {
      post: (m) => electronPort.postMessage(m),
      onMessage: (l) => electronPort.on('message', (e) => l(e.data as HostToWorker)),
      close: () => process.exit(0),
    };
  }
  if (!parentPort) throw new Error('worker-main must run as a worker thread or utility process');
  const port = parentPort;
  return { post: (m) => port.postMessage(m), onMessage: (l) => port.on('message', l), close: () => port.close() };
}

async function run(
  port: Port,
  jobId: string,
  request: ParsedJobRequest,
  inputs: JobInputs,
  controller: AbortController,
): Promise<void> {
  const tracker = new ProgressTracker(jobId, request.kind);
  const context: JobContext = {
    jobId,
    inputs,
    signal: controller.signal,
    throwIfCancelled: () => {
      if (controller.signal.aborted) throw new CancelledError();
    },
    report: (step) => port.post({ type: 'progress', progress: tracker.report(step) }),
  };
  try {
    const runner = runners[request.kind] as (r: ParsedJobRequest, c: JobContext) => Promise<unknown>;
    const result = await runner(request, context);
    context.throwIfCancelled();
    port.post({ type: 'succeeded', result });
  } catch (error) {
    if (!(error instanceof CancelledError)) log.error('job failed', { jobId, kind: request.kind, error });
    port.post({ type: 'failed', error: serializeError(error) });
  } finally {
    port.close();
  }
}

const port = connect();
const controller = new AbortController();
let started = false;
port.onMessage((message) => {
  if (message.type === 'cancel') controller.abort();
  else if (!started) {
    started = true;
    void run(port, message.jobId, message.request, message.inputs, controller);
  }
});
