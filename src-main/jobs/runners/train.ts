/**
 * The `train` job: one training run in a worker, from files (a backbone folder, an exported task
 * file, a run folder), so the app's main process stays responsive and a cancel stops at a clean
 * point with the checkpoint kept; the same request again resumes.
 */
import path from 'node:path';

import { backboneOrDefault } from '../../backbone/embedded.js';
import { openBackbone } from '../../backbone/load.js';
import type { ParsedJobRequest } from '../../ipc/contract.js';
import { TrainConfigSchema } from '../../peft/config.js';
import { createMethod } from '../../peft/methods.js';
import { readTaskData, trainRun, type TrainSummary } from '../../services/training.js';
import type { JobContext } from './index.js';

export async function runTraining(
  request: Extract<ParsedJobRequest, { kind: 'train' }>,
  context: JobContext,
): Promise<TrainSummary> {
  const backboneDir = backboneOrDefault(request.backbone);
  const backbone = openBackbone(backboneDir);
  const backboneName = path.basename(backboneDir);
  const method = createMethod(request.method, request.settings, { backbone, backboneName });
  const config = TrainConfigSchema.parse(request.train);
  const data = context.inputs.data ?? (await readTaskData(request.data, { task: request.task }));
  return trainRun({
    backbone,
    backboneName,
    method,
    config,
    data,
    outDir: path.resolve(request.out),
    provider: request.provider,
    signal: context.signal,
    onProgress: (p) =>
      context.report({
        phase: p.phase === 'evaluate' ? 'Evaluating on dev' : `Training, epoch ${p.epoch}`,
        step: p.step,
        totalSteps: p.totalSteps,
        ...(p.loss !== undefined && { loss: p.loss }),
        ...(p.tokens !== undefined && { tokens: p.tokens }),
        ...(p.metric !== undefined && { metric: p.metric }),
      }),
  });
}
