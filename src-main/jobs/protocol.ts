/** Messages between the job host (main process or CLI) and a job worker. One worker runs one job. */
import type { JobProgress, ParsedJobRequest, SerializedError } from '../ipc/contract.js';
import type { TaskData } from '../services/training.js';

/**
 * What the host gives a job besides its request: a store dataset's examples, read by the host
 * (which holds the store key) and passed in memory, so no note text is written to a file.
 */
export interface JobInputs {
  readonly data?: TaskData;
  /** An experiment cell's store datasets, by the task name the experiment gives them. */
  readonly tasks?: Readonly<Record<string, TaskData>>;
}

export type HostToWorker =
  | { readonly type: 'start'; readonly jobId: string; readonly request: ParsedJobRequest; readonly inputs: JobInputs }
  | { readonly type: 'cancel' };

export type WorkerToHost =
  | { readonly type: 'progress'; readonly progress: JobProgress }
  | { readonly type: 'succeeded'; readonly result: unknown }
  | { readonly type: 'failed'; readonly error: SerializedError };

/** One live worker, whatever runs it: a worker thread under Node, a utilityProcess in Electron. */
export interface WorkerTransport {
  post(message: HostToWorker): void;
  onMessage(listener: (message: WorkerToHost) => void): void;
  /** Called once when the worker is gone, with its exit code (0 after a clean finish). */
  onExit(listener: (code: number) => void): void;
  /** Stops the worker at once (used when a cancelled job does not stop in time). */
  kill(): void;
}

export type WorkerLauncher = () => WorkerTransport;
