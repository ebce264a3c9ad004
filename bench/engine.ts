/**
 * `npm run bench:engine`: one prompt-tuning training step (forward + backward to the prompt) of a
 * LLaMA-style model on our engine (onnxruntime-node, CPU) versus the PyTorch reference
 * (test/reference/llama_reference.py) on the same machine, same weights, same batch.
 *
 * Each measurement runs in a fresh process (so peak RSS is its own), and the two engines are
 * interleaved round by round because this machine's speed drifts 20-30% minute to minute.
 * Reports medians and ratios (ours / PyTorch) of step time and peak RSS, graph build and session
 * creation time, and the size of onnxruntime's optimized model (which must hold each weight once).
 * Writes bench/results/engine-<date>.json and .md.
 *
 *   npm run bench:engine [-- --sizes small,large --rounds 3 --repeats 5]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LlamaGraphConfig } from '../src-main/backbone/llama/graph.js';
import { llamaWeightShapes } from '../src-main/backbone/llama/graph.js';
import { writeSafetensors } from '../src-main/engine/index.js';
import { findTorchPython, runReference } from '../test/reference/torch-python.js';
import { random } from '../test/unit/engine/gradcheck.js';
import type { WorkerRequest, WorkerResult } from './engine-worker.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

interface Size {
  readonly name: string;
  readonly config: LlamaGraphConfig;
}
const base = { vocabSize: 32000, rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: false, headDim: 64 };
const SIZES: Record<string, Size> = {
  small: {
    name: 'dim 512 x 8 layers',
    config: { ...base, hiddenSize: 512, intermediateSize: 1536, numLayers: 8, numHeads: 8, numKvHeads: 4 },
  },
  large: {
    name: 'dim 1024 x 12 layers',
    config: { ...base, hiddenSize: 1024, intermediateSize: 2816, numLayers: 12, numHeads: 16, numKvHeads: 4 },
  },
};
const PROMPT = 16;
const TOKENS = 240; // sequence = prompt + tokens = 256
const BATCH = 1;

function arg(name: string, fallback: string): string {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 && process.argv[k + 1] ? process.argv[k + 1]! : fallback;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function writeWeights(path: string, c: LlamaGraphConfig): number {
  const r = random(1);
  const tensors: Parameters<typeof writeSafetensors>[1] = {};
  let bytes = 0;
  for (const [name, shape] of llamaWeightShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const scale = shape.length === 1 ? 0 : 1 / Math.sqrt(shape[1]!);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = shape.length === 1 ? 1 + 0.1 * r() : scale * r();
    tensors[name] = { dtype: 'float32', shape, data };
    bytes += 4 * n;
  }
  writeSafetensors(path, tensors);
  return bytes;
}

function runWorker(req: WorkerRequest): WorkerResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'engine-worker.ts')], {
    input: JSON.stringify(req),
    encoding: 'utf8',
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, CLINPROMPT_LOG_LEVEL: 'error' },
  });
  if (r.status !== 0) throw new Error(`engine worker failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as WorkerResult;
}

interface TorchResult {
  step_ms: number[];
  peak_rss_mb: number;
  loss: number;
  grad_norm: number;
  torch: string;
}

async function main(): Promise<void> {
  const sizes = arg('sizes', 'small,large').split(',');
  const rounds = Number(arg('rounds', '3'));
  const repeats = Number(arg('repeats', '5'));
  const threads = cpus().length;
  const torch = findTorchPython();
  if (!torch.python) throw new Error(`The PyTorch reference is needed for the comparison: ${torch.why}`);
  const scratch = mkdtempSync(join(tmpdir(), 'bench-engine-'));
  const results = [];
  try {
    for (const key of sizes) {
      const size = SIZES[key];
      if (!size) throw new Error(`Unknown size ${key}; use ${Object.keys(SIZES).join(', ')}`);
      const c = size.config;
      const weights = join(scratch, `${key}.safetensors`);
      console.error(`[${size.name}] writing weights...`);
      const weightBytes = writeWeights(weights, c);
      const r = random(2);
      const ids = Array.from({ length: BATCH * TOKENS }, () => Math.floor(r(0, c.vocabSize)));
      const request: WorkerRequest = {
        config: c,
        weights,
        prompt: Array.from({ length: PROMPT * c.hiddenSize }, () => 0.5 * r()),
        prompt_length: PROMPT,
        ids,
        targets: ids.map((_, k) => ((k + 1) % TOKENS === 0 ? -100 : ids[k + 1]!)),
        mask: ids.map((_, k) => ((k + 1) % TOKENS === 0 ? 0 : 1)),
        shape: [BATCH, TOKENS],
        threads,
        bench: { warmup: 1, repeats },
      };
      console.error(`[${size.name}] optimized-model check...`);
      const check = runWorker({ ...request, checkOptimized: true });
      const ours: WorkerResult[] = [];
      const theirs: TorchResult[] = [];
      for (let round = 0; round < rounds; round++) {
        // Alternate which engine goes first, so drift does not favour one.
        const order = round % 2 === 0 ? ['ours', 'torch'] : ['torch', 'ours'];
        for (const who of order) {
          console.error(`[${size.name}] round ${round + 1}/${rounds}: ${who}`);
          if (who === 'ours') ours.push(runWorker(request));
          else theirs.push(runReference<TorchResult>(torch.python, { ...request, dtype: 'float32' }));
        }
      }
      const oursStep = median(ours.flatMap((o) => o.step_ms));
      const torchStep = median(theirs.flatMap((t) => t.step_ms));
      const oursRss = median(ours.map((o) => o.peak_rss_mb));
      const torchRss = median(theirs.map((t) => t.peak_rss_mb));
      results.push({
        size: size.name,
        config: c,
        batch: BATCH,
        sequence: PROMPT + TOKENS,
        promptLength: PROMPT,
        weightMB: weightBytes / 2 ** 20,
        ours: {
          stepMsMedian: oursStep,
          peakRssMbMedian: oursRss,
          buildMsMedian: median(ours.map((o) => o.build_ms)),
          sessionMsMedian: median(ours.map((o) => o.session_ms)),
          loss: ours[0]!.loss,
          gradNorm: ours[0]!.grad_norm,
          modelBytes: ours[0]!.model_bytes,
          onnxNodes: ours[0]!.onnx_nodes,
          optimizedModel: check.optimized,
          steps: ours.map((o) => o.step_ms),
        },
        torch: {
          version: theirs[0]!.torch,
          stepMsMedian: torchStep,
          peakRssMbMedian: torchRss,
          loss: theirs[0]!.loss,
          gradNorm: theirs[0]!.grad_norm,
          steps: theirs.map((t) => t.step_ms),
        },
        ratios: { stepTime: oursStep / torchStep, peakRss: oursRss / torchRss },
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const date = new Date().toISOString().slice(0, 10);
  const meta = {
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    threads,
    rounds,
    repeats,
  };
  const lines = [
    `# Engine benchmark ${meta.date}`,
    '',
    `Prompt-tuning training step (forward + backward to the prompt), batch ${BATCH}, sequence ${PROMPT + TOKENS}`,
    `(prompt ${PROMPT} + ${TOKENS} tokens), vocab 32000, float32 on CPU, ${threads} threads, ${meta.cpuModel}.`,
    `${rounds} interleaved rounds per engine, each a fresh process: 1 warm-up + ${repeats} timed steps. Medians.`,
    '',
    '| model | ours step (ms) | PyTorch step (ms) | time ratio | ours peak RSS (MB) | PyTorch peak RSS (MB) | memory ratio | graph build (ms) | session create (ms) | optimized model weights / original |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...results
      .map((r) =>
        [
          r.size,
          r.ours.stepMsMedian.toFixed(0),
          r.torch.stepMsMedian.toFixed(0),
          r.ratios.stepTime.toFixed(2),
          r.ours.peakRssMbMedian.toFixed(0),
          r.torch.peakRssMbMedian.toFixed(0),
          r.ratios.peakRss.toFixed(2),
          r.ours.buildMsMedian.toFixed(0),
          r.ours.sessionMsMedian.toFixed(0),
          r.ours.optimizedModel
            ? (r.ours.optimizedModel.initializerBytes / r.ours.optimizedModel.weightBytes).toFixed(3)
            : 'n/a',
        ].join(' | '),
      )
      .map((l) => `| ${l} |`),
    '',
    '| model | ours loss | PyTorch loss | ours grad norm | PyTorch grad norm | weights (MB) |',
    '|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.size} | ${r.ours.loss.toFixed(6)} | ${r.torch.loss.toFixed(6)} | ${r.ours.gradNorm.toExponential(5)} | ${r.torch.gradNorm.toExponential(5)} | ${r.weightMB.toFixed(0)} |`,
    ),
    '',
    `PyTorch ${results[0]?.torch.version}. Ratios are ours / PyTorch (lower is better for us).`,
  ];
  const outDir = join(here, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `engine-${date}.json`), JSON.stringify({ meta, results }, null, 2));
  writeFileSync(join(outDir, `engine-${date}.md`), lines.join('\n') + '\n');
  console.log(lines.join('\n'));
}

await main();
