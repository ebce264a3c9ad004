/**
 * The `evaluate` job: a trained run beside the untrained backbone (and any baseline runs) on a
 * held-out split, in a worker (all run the backbone), from the examples the host handed over or an exported file.
 */
import { backboneOrDefault } from '../../backbone/embedded.js';
import { openBackbone } from '../../backbone/load.js';
import type { EvaluationView, ParsedJobRequest } from '../../ipc/contract.js';
import { compareWithBaseline } from '../../services/comparison.js';
import { readTaskData } from '../../services/training.js';
import type { JobContext } from './index.js';

export async function runEvaluation(
  request: Extract<ParsedJobRequest, { kind: 'evaluate' }>,
  context: JobContext,
): Promise<EvaluationView> {
  context.report({
    phase: `Scoring the adapted prompt, the untrained backbone${request.baselines.length > 0 ? ' and the runs to compare' : ''}`,
    step: 0,
    totalSteps: 1,
  });
  const backbone = openBackbone(backboneOrDefault(request.backbone));
  const data = context.inputs.data ?? (await readTaskData(request.data, { task: request.task }));
  const view = await compareWithBaseline({
    backbone,
    run: request.run,
    baselines: request.baselines,
    data,
    split: request.split,
    limit: request.limit,
    provider: request.provider,
  });
  context.report({ phase: 'Evaluated', step: 1, totalSteps: 1 });
  return view;
}
