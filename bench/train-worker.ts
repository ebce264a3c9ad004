/**
 * One measurement of our training step in a fresh process (so its peak memory is its own): opens
 * the benchmark's HF folder, starts the method's training step as the trainer does
 * (peft/training-step.ts: its graphs and onnxruntime sessions, pinned to the requested threads),
 * and times whole steps: forward + backward, global-norm clipping and the AdamW update in
 * TypeScript (peft/optim). Reads a JSON request on stdin, writes a JSON result on stdout.
 * Driven by train.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';

import { openBackbone } from '../src-main/backbone/load.js';
import { seededRandom } from '../src-main/common/random.js';
import { createSession, Graph, matmul, ort, probeProvider, reduceSum, serialize } from '../src-main/engine/index.js';
import { collate } from '../src-main/peft/batches.js';
import type { TokenizedExample } from '../src-main/peft/batches.js';
import { createMethod } from '../src-main/peft/methods.js';
import { newAdamWState } from '../src-main/peft/optim/adamw.js';
import { AdamWOptimizer } from '../src-main/peft/optim/optimizer.js';
import type { AdamWSettings } from '../src-main/peft/optim/adamw.js';
import { startTrainingStep } from '../src-main/peft/training-step.js';

export interface TrainWorkerRequest {
  readonly dir: string;
  readonly method: string;
  readonly settings: Record<string, unknown>;
  readonly seed: number;
  readonly example: TokenizedExample;
  readonly padId: number;
  readonly threads: number;
  readonly lr: number;
  readonly adamw: AdamWSettings;
  readonly maxGradNorm: number;
  readonly warmup: number;
  readonly repeats: number;
}

/** Instead of a training step: onnxruntime's float32 MatMul rate, n x n times n x n, best of `repeats`. */
export interface MatmulPeakRequest {
  readonly matmulPeak: { readonly n: number; readonly repeats: number };
  readonly threads: number;
}

export interface TrainWorkerResult {
  readonly step_ms: number[];
  /** The part of each step after session.run: clipping and the AdamW update in TypeScript. */
  readonly optimizer_ms: number[];
  readonly peak_rss_mb: number;
  /** The last step's loss and gradient norm (before clipping). */
  readonly loss: number;
  readonly grad_norm: number;
  /** onnxruntime's intra-op pool as the OS sees it: threads the session added, plus the caller's. */
  readonly intra_op_threads: number;
  /** Building the step's graphs and starting its sessions. */
  readonly build_ms: number;
}

/** This process's OS threads. */
const osThreads = (): number => readdirSync('/proc/self/task').length;

async function matmulPeak(req: MatmulPeakRequest): Promise<{ gflops: number[] }> {
  const { n, repeats } = req.matmulPeak;
  const g = new Graph();
  const product = matmul(g.input('a', 'float32', [n, n]), g.input('b', 'float32', [n, n]));
  // Summed to one number: a fresh n x n output buffer per run would time this machine's page faults.
  const sum = reduceSum(product, [0, 1]);
  const session = await createSession(serialize(g, [{ name: 'c', tensor: sum }]), { threads: req.threads });
  const r = seededRandom(3);
  const operand = () =>
    new ort.Tensor(
      'float32',
      Float32Array.from({ length: n * n }, () => r() - 0.5),
      [n, n],
    );
  const feeds = { a: operand(), b: operand() };
  const gflops: number[] = [];
  for (let k = 0; k <= repeats; k++) {
    const t = performance.now();
    await session.run(feeds);
    if (k > 0) gflops.push((2 * n ** 3) / ((performance.now() - t) / 1000) / 1e9); // the first run warms up
  }
  await session.release();
  return { gflops };
}

async function main(): Promise<void> {
  const request = JSON.parse(readFileSync(0, 'utf8')) as TrainWorkerRequest | MatmulPeakRequest;
  if ('matmulPeak' in request) {
    process.stdout.write(JSON.stringify(await matmulPeak(request)));
    return;
  }
  const req = request;
  const backbone = openBackbone(req.dir);
  const method = createMethod(req.method, req.settings, { backbone, backboneName: 'bench' });
  const values = method.initialValues(seededRandom(req.seed));
  // The first session of a process also starts one thread of its own that outlives it: start and
  // release a one-node session first, so the count below sees only the training sessions' pools.
  await probeProvider('cpu');
  const threadsBefore = osThreads();
  const t0 = performance.now();
  const session = await startTrainingStep({
    config: backbone.config,
    tensors: backbone.tensors,
    method,
    dtype: 'float32',
    session: { threads: req.threads },
  });
  const buildMs = performance.now() - t0;
  // onnxruntime starts threads - 1 pool threads per session; the calling thread is the last.
  const intraOpThreads = (osThreads() - threadsBefore) / session.sessions + 1;

  const adam = newAdamWState(new Map(method.trainables.map((t) => [t.name, values.get(t.name)!.length])));
  const grads = new Map<string, Float32Array>();
  // as the trainer does it (peft/trainer.ts): on several threads where the trainables are big
  const optimizer = AdamWOptimizer.start(method.trainables, { values, adam, grads }, req.adamw, req.threads);
  const batch = collate([req.example], [0], req.padId);
  const stepMs: number[] = [];
  const optimizerMs: number[] = [];
  let loss = NaN;
  let gradNorm = NaN;
  for (let k = 0; k < req.warmup + req.repeats; k++) {
    const t = performance.now();
    const out = await session.run(batch.feeds, values);
    const tOptimizer = performance.now();
    for (const [name, grad] of out.grads) grads.set(name, grad);
    gradNorm = await optimizer.gradNorm();
    // the clipping factor applied inside the AdamW pass
    await optimizer.step(true, req.lr, gradNorm > req.maxGradNorm ? req.maxGradNorm / gradNorm : 1);
    loss = out.loss;
    if (k >= req.warmup) {
      stepMs.push(performance.now() - t);
      optimizerMs.push(performance.now() - tOptimizer);
    }
  }
  await session.release();
  await optimizer.close();
  const result: TrainWorkerResult = {
    step_ms: stepMs,
    optimizer_ms: optimizerMs,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    loss,
    grad_norm: gradNorm,
    intra_op_threads: intraOpThreads,
    build_ms: buildMs,
  };
  process.stdout.write(JSON.stringify(result));
}

await main();
