/**
 * What each job kind does once it is running inside a worker. The contract (ipc/contract.ts) names
 * the kinds and their parameters; this table maps each kind to its code. Heavy modules (engine,
 * backbones) are imported here only, so they load in workers and never in the UI's main process.
 */
import type { JobKind, ParsedJobRequest } from '../../ipc/contract.js';
import type { StepReport } from '../progress.js';
import type { JobInputs } from '../protocol.js';
import { runEvaluation } from './evaluate.js';
import { runDemoJob } from './demo.js';
import { runCellJob } from './experiment-cell.js';
import { runPrediction } from './predict.js';
import { runSystemCheck } from './system-check.js';
import { runTraining } from './train.js';

export interface JobContext {
  readonly jobId: string;
  /** What the host handed over in memory (a store dataset's examples). */
  readonly inputs: JobInputs;
  /** Aborted when the user cancels; long loops call `throwIfCancelled()` between steps. */
  readonly signal: AbortSignal;
  throwIfCancelled(): void;
  report(step: StepReport): void;
}

type RunnerTable = {
  readonly [K in JobKind]: (request: Extract<ParsedJobRequest, { kind: K }>, context: JobContext) => Promise<unknown>;
};

export const runners: RunnerTable = {
  'system-check': runSystemCheck,
  train: runTraining,
  evaluate: runEvaluation,
  predict: runPrediction,
  demo: runDemoJob,
  'experiment-cell': runCellJob,
};
