/**
 * Where a training step's time goes: runs bench:train's step of one method on our engine with
 * onnxruntime's profiler on and prints the operators by total time (kernel time summed over the
 * timed steps), with the share of the step. Point it at a model folder bench:train would write
 * (or any HF folder).
 *
 *   npx tsx bench/train-profile.ts --dir <hf folder> --method pt|lora|full [--threads 2 --steps 2 --answer N]
 *
 * The session is created here with the options createSession uses (engine/session.ts) plus the
 * profiler, which createSession does not expose. It profiles the method's whole training graph:
 * for full fine-tuning that is `--gradient-checkpointing off`, not the default layer-by-layer step
 * (peft/full/layerwise-step.ts), whose layers run the same operators on the same shapes.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { openBackbone } from '../src-main/backbone/load.js';
import { seededRandom } from '../src-main/common/random.js';
import { ort } from '../src-main/engine/index.js';
import { collate } from '../src-main/peft/batches.js';
import { createMethod } from '../src-main/peft/methods.js';
import { buildMethodTrainingModel } from '../src-main/peft/training-graph.js';
import { arg } from './support.js';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[] };
}

async function main(): Promise<void> {
  const dir = arg('dir', '');
  if (!dir) throw new Error('--dir <hf folder> is required');
  const methodName = arg('method', 'pt');
  const threads = Number(arg('threads', String(cpus().length)));
  const steps = Number(arg('steps', '2'));
  const answer = Number(arg('answer', '0'));
  const backbone = openBackbone(dir);
  const settings: Record<string, Record<string, unknown>> = { pt: { promptLength: 16 }, lora: {}, full: {} };
  const method = createMethod(methodName, settings[methodName] ?? {}, { backbone, backboneName: 'profile' });
  const values = method.initialValues(seededRandom(42));
  const model = buildMethodTrainingModel(backbone.config, backbone.tensors, method);
  const scratch = mkdtempSync(join(tmpdir(), 'train-profile-'));
  try {
    const session = await ort.InferenceSession.create(model.bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'extended',
      enableCpuMemArena: true,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: join(scratch, 'step'),
      extra: {
        session: {
          disable_prepacking: '1',
          use_device_allocator_for_initializers: '1',
          ...(model.externalDataDir && { model_external_initializers_file_folder_path: model.externalDataDir }),
        },
      },
    });
    const tokens = methodName === 'pt' ? 240 : 256;
    const r = seededRandom(2);
    const ids = Array.from({ length: tokens }, () => 3 + Math.floor(r() * (backbone.config.vocabSize - 3)));
    // loss on every position (as bench:train) or, with --answer N, on a task answer's last N tokens
    const targetStart = answer > 0 ? tokens - answer : 1;
    const feeds: Record<string, ort.Tensor> = { ...collate([{ ids, targetStart }], [0], 2).feeds };
    for (const t of method.trainables) feeds[t.name] = new ort.Tensor('float32', values.get(t.name)!, [...t.shape]);
    let wall = 0;
    for (let k = 0; k <= steps; k++) {
      const t0 = performance.now();
      await session.run(feeds);
      if (k > 0) wall += performance.now() - t0; // the first run is the warm-up
    }
    session.endProfiling(); // writes <prefix>_<timestamp>.json
    await session.release();
    const file = readdirSync(scratch).find((f) => f.startsWith('step') && f.endsWith('.json'));
    if (!file) throw new Error(`onnxruntime wrote no profile into ${scratch}`);
    const events = JSON.parse(readFileSync(join(scratch, file), 'utf8')) as ProfileEvent[];
    const byOp = new Map<string, { us: number; count: number }>();
    const byNode = new Map<string, { us: number; shapes: string }>();
    for (const e of events)
      if (e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.args?.op_name) {
        const entry = byOp.get(e.args.op_name) ?? { us: 0, count: 0 };
        entry.us += e.dur;
        entry.count += 1;
        byOp.set(e.args.op_name, entry);
        const node = e.name.replace(/_kernel_time$/, '');
        const shapes = (e.args.input_type_shape ?? []).map((t) => JSON.stringify(Object.values(t)[0])).join(' ');
        byNode.set(node, { us: (byNode.get(node)?.us ?? 0) + e.dur, shapes: `${e.args.op_name} ${shapes}` });
      }
    const totalUs = [...byOp.values()].reduce((a, b) => a + b.us, 0);
    const perStepMs = (us: number) => us / 1000 / (steps + 1);
    console.log(
      `${methodName}: ${steps} timed steps, ${(wall / steps).toFixed(0)} ms/step wall; kernel time per step (warm-up included in the average): ${perStepMs(totalUs).toFixed(0)} ms`,
    );
    console.log('| op | ms/step | share | calls/step |\n|---|---|---|---|');
    for (const [op, { us, count }] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, 15))
      console.log(
        `| ${op} | ${perStepMs(us).toFixed(1)} | ${((100 * us) / totalUs).toFixed(1)}% | ${(count / (steps + 1)).toFixed(0)} |`,
      );
    console.log('\n| node | op and input shapes | ms/step |\n|---|---|---|');
    for (const [node, { us, shapes }] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, 12))
      console.log(`| ${node} | ${shapes} | ${perStepMs(us).toFixed(1)} |`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
