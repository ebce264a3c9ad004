/**
 * The `predict` job: a trained prompt run over a dataset's notes in a worker (the Run step), from
 * the notes the host handed over or an exported file. Progress is notes done out of all.
 */
import { backboneOrDefault } from '../../backbone/embedded.js';
import { openBackbone } from '../../backbone/load.js';
import type { NoteRunView, ParsedJobRequest } from '../../ipc/contract.js';
import { runOverNotes } from '../../services/note-run.js';
import { readTaskData } from '../../services/training.js';
import type { JobContext } from './index.js';

export async function runPrediction(
  request: Extract<ParsedJobRequest, { kind: 'predict' }>,
  context: JobContext,
): Promise<NoteRunView> {
  const data = context.inputs.data ?? (await readTaskData(request.data, { task: request.task }));
  const total = Math.min(request.limit, data.examples.length);
  context.report({ phase: 'Loading the backbone and the prompt', step: 0, totalSteps: total });
  const backbone = openBackbone(backboneOrDefault(request.backbone));
  return runOverNotes({
    backbone,
    run: request.run,
    meta: request.meta,
    data,
    limit: request.limit,
    provider: request.provider,
    signal: context.signal,
    onProgress: (done, all) => context.report({ phase: 'Running over the notes', step: done, totalSteps: all }),
  });
}
