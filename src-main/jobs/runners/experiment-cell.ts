/**
 * The `experiment-cell` job: one cell of `clinprompt experiment` (services/experiment-cell.ts) in
 * its own worker, so cells run side by side, each with its own onnxruntime sessions and threads.
 */
import path from 'node:path';
import { threadId } from 'node:worker_threads';

import type { ParsedJobRequest } from '../../ipc/contract.js';
import { runExperimentCell } from '../../services/experiment-cell.js';
import type { JobContext } from './index.js';

/** Which worker ran the cell (the experiment records it per cell). */
export interface CellJobResult {
  readonly pid: number;
  readonly thread: number;
}

export async function runCellJob(
  request: Extract<ParsedJobRequest, { kind: 'experiment-cell' }>,
  context: JobContext,
): Promise<CellJobResult> {
  await runExperimentCell({
    outDir: path.resolve(request.out),
    cellId: request.cell,
    provider: request.provider,
    ...(request.threads !== undefined && { threads: request.threads }),
    ...(request.modelCache !== undefined && { modelCache: request.modelCache }),
    ...(context.inputs.tasks && { tasks: context.inputs.tasks }),
    signal: context.signal,
    onProgress: (p) =>
      context.report({
        phase: p.phase === 'evaluate' ? 'evaluating' : 'training',
        step: p.step,
        totalSteps: p.totalSteps,
        ...(p.loss !== undefined && { loss: p.loss }),
      }),
  });
  return { pid: process.pid, thread: threadId };
}
