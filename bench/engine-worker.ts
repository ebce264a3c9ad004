/**
 * One engine measurement in a fresh process (so its peak memory is its own): builds the prompt-
 * tuning training graph for a LLaMA-style model whose weights are external data in a .safetensors
 * file, creates the onnxruntime session, and times training steps (forward + backward to the
 * prompt). Reads a JSON request on stdin, writes a JSON result on stdout. Driven by engine.ts.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaConfig } from '../src-main/backbone/hf/config.js';
import { buildTrainingModel, createSession, inspectModel, ort } from '../src-main/engine/index.js';
import { promptTuningGraph, safetensorsSource } from '../test/support/tiny-llama.js';

export interface WorkerRequest {
  readonly config: LlamaConfig;
  readonly weights: string;
  readonly prompt: number[];
  readonly prompt_length: number;
  readonly ids: number[];
  readonly targets: number[];
  readonly mask: number[];
  readonly shape: [number, number];
  readonly threads: number;
  readonly bench: { readonly warmup: number; readonly repeats: number };
  /** Instead of timing: write the optimized model (initializers external) and report its size. */
  readonly checkOptimized?: boolean;
  /** Extra session options to compare variants (see SessionOptions). */
  readonly session?: { readonly prepack?: boolean; readonly memoryArena?: boolean };
}

export interface WorkerResult {
  readonly step_ms: number[];
  readonly peak_rss_mb: number;
  readonly loss: number;
  readonly grad_norm: number;
  readonly build_ms: number;
  readonly session_ms: number;
  readonly model_bytes: number;
  readonly onnx_nodes: number;
  readonly optimized?: { readonly bytes: number; readonly initializerBytes: number; readonly weightBytes: number };
}

async function main(): Promise<void> {
  const req = JSON.parse(readFileSync(0, 'utf8')) as WorkerRequest;
  const t0 = performance.now();
  const { graph, prompt, loss } = promptTuningGraph(req.config, (g) => safetensorsSource(g, req.weights), {
    promptLength: req.prompt_length,
  });
  const model = buildTrainingModel({ graph, loss, trainables: [prompt] });
  const buildMs = performance.now() - t0;

  const scratch = mkdtempSync(join(tmpdir(), 'bench-engine-'));
  const optimizedPath = join(scratch, 'optimized.onnx');
  const t1 = performance.now();
  const session = await createSession(model, {
    threads: req.threads,
    ...req.session,
    ...(req.checkOptimized && { optimizedModelPath: optimizedPath }),
  });
  const sessionMs = performance.now() - t1;

  const d = req.config.hiddenSize;
  const feeds = {
    prompt: new ort.Tensor('float32', Float32Array.from(req.prompt), [req.prompt_length, d]),
    input_ids: new ort.Tensor('int64', BigInt64Array.from(req.ids.map(BigInt)), req.shape),
    targets: new ort.Tensor('int64', BigInt64Array.from(req.targets.map(BigInt)), req.shape),
    loss_mask: new ort.Tensor('float32', Float32Array.from(req.mask), req.shape),
  };
  const stepMs: number[] = [];
  let out: Record<string, ort.Tensor> = {};
  const runs = req.checkOptimized ? 1 : req.bench.warmup + req.bench.repeats;
  for (let k = 0; k < runs; k++) {
    const t = performance.now();
    out = await session.run(feeds);
    if (k >= req.bench.warmup) stepMs.push(performance.now() - t);
  }
  const grad = out[model.gradientOutputs['prompt']!]!.data as Float32Array;
  let optimized: WorkerResult['optimized'];
  if (req.checkOptimized) {
    const facts = inspectModel(readFileSync(optimizedPath));
    optimized = {
      bytes: statSync(optimizedPath).size,
      initializerBytes: facts.initializerBytes,
      weightBytes: inspectModel(model.bytes).externalBytes,
    };
  }
  await session.release();
  rmSync(scratch, { recursive: true, force: true });
  const result: WorkerResult = {
    step_ms: stepMs,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    loss: Number(out[model.lossOutput]!.data[0]),
    grad_norm: Math.hypot(...grad),
    build_ms: buildMs,
    session_ms: sessionMs,
    model_bytes: model.bytes.length,
    onnx_nodes: model.stats.onnxNodes,
    ...(optimized && { optimized }),
  };
  process.stdout.write(JSON.stringify(result));
}

await main();
