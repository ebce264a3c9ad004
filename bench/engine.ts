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
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaConfig } from '../src-main/backbone/hf/config.js';
import { expectedLlamaTensors } from '../src-main/backbone/hf/llama-tensors.js';
import { writeSafetensors } from '../src-main/engine/index.js';
import { findTorchPython, runReference } from '../test/reference/torch-python.js';
import { random } from '../test/unit/engine/gradcheck.js';
import { arg, median, runWorkerProcess, writeResults } from './support.js';
import { BENCH_SIZES, type BenchSize } from './support.js';
import type { WorkerRequest, WorkerResult } from './engine-worker.js';

const SIZES: Record<string, BenchSize> = BENCH_SIZES;
const PROMPT = 16;
const TOKENS = 240; // sequence = prompt + tokens = 256
const BATCH = 1;

function writeWeights(path: string, c: LlamaConfig): number {
  const r = random(1);
  const tensors: Parameters<typeof writeSafetensors>[1] = {};
  let bytes = 0;
  for (const [name, shape] of expectedLlamaTensors(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const scale = shape.length === 1 ? 0 : 1 / Math.sqrt(shape[1]!);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = shape.length === 1 ? 1 + 0.1 * r() : scale * r();
    tensors[name] = { dtype: 'float32', shape: [...shape], data };
    bytes += 4 * n;
  }
  writeSafetensors(path, tensors);
  return bytes;
}

const runWorker = (req: WorkerRequest): WorkerResult =>
  runWorkerProcess<WorkerRequest, WorkerResult>('engine-worker.ts', req);

interface TorchResult {
  step_ms: number[];
  peak_rss_mb: number;
  loss: number;
  grad_norm: number;
  torch: string;
}

/** Our engine's configurations compared against PyTorch, each in its own fresh processes. */
const VARIANTS: readonly {
  readonly key: string;
  readonly label: string;
  readonly session: NonNullable<WorkerRequest['session']>;
}[] = [
  { key: 'ours', label: 'ours (default: pre-packing off)', session: {} },
  { key: 'ours-prepack', label: 'ours, pre-packing on', session: { prepack: true } },
];

interface Measured {
  readonly step_ms: number[];
  readonly peak_rss_mb: number;
  readonly loss: number;
  readonly grad_norm: number;
}

async function main(): Promise<void> {
  const sizes = arg('sizes', 'small,large').split(',');
  const rounds = Number(arg('rounds', '3'));
  const repeats = Number(arg('repeats', '5'));
  const threads = cpus().length;
  const torch = findTorchPython();
  if (!torch.python) throw new Error(`The PyTorch reference is needed for the comparison: ${torch.why}`);
  const scratch = mkdtempSync(join(tmpdir(), 'bench-engine-'));
  const loadBefore = loadavg()[0]!;
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
      const engines = [...VARIANTS.map((v) => v.key), 'torch'];
      const runs = new Map<string, Measured[]>(engines.map((e) => [e, []]));
      const oursRuns: WorkerResult[] = [];
      for (let round = 0; round < rounds; round++) {
        // Rotate which engine goes first, so drift does not favour one.
        const order = engines.map((_, k) => engines[(k + round) % engines.length]!);
        for (const who of order) {
          console.error(`[${size.name}] round ${round + 1}/${rounds}: ${who}`);
          const variant = VARIANTS.find((v) => v.key === who);
          if (variant) {
            const res = runWorker({ ...request, session: variant.session });
            runs.get(who)!.push(res);
            if (who === 'ours') oursRuns.push(res);
          } else runs.get(who)!.push(runReference<TorchResult>(torch.python, { ...request, dtype: 'float32' }));
        }
      }
      const summary = (who: string) => {
        const m = runs.get(who)!;
        return {
          stepMsMedian: median(m.flatMap((o) => o.step_ms)),
          peakRssMbMedian: median(m.map((o) => o.peak_rss_mb)),
          loss: m[0]!.loss,
          gradNorm: m[0]!.grad_norm,
          steps: m.map((o) => o.step_ms),
        };
      };
      const ref = summary('torch');
      results.push({
        size: size.name,
        config: c,
        batch: BATCH,
        sequence: PROMPT + TOKENS,
        promptLength: PROMPT,
        weightMB: weightBytes / 2 ** 20,
        graph: {
          buildMsMedian: median(oursRuns.map((o) => o.build_ms)),
          sessionMsMedian: median(oursRuns.map((o) => o.session_ms)),
          modelBytes: oursRuns[0]!.model_bytes,
          onnxNodes: oursRuns[0]!.onnx_nodes,
          optimizedModel: check.optimized,
        },
        torch: { version: (runs.get('torch')![0] as TorchResult).torch, ...ref },
        variants: VARIANTS.map((v) => {
          const s = summary(v.key);
          return {
            ...v,
            ...s,
            ratios: { stepTime: s.stepMsMedian / ref.stepMsMedian, peakRss: s.peakRssMbMedian / ref.peakRssMbMedian },
          };
        }),
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const meta = {
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    threads,
    rounds,
    repeats,
    loadAverage: { before: loadBefore, after: loadavg()[0]! },
  };
  const mb = (x: number) => x.toFixed(0);
  const lines = [
    `# Engine benchmark ${meta.date}`,
    '',
    `Prompt-tuning training step (forward + backward to the prompt), batch ${BATCH}, sequence ${PROMPT + TOKENS}`,
    `(prompt ${PROMPT} + ${TOKENS} tokens), vocab 32000, float32 on CPU, ${threads} threads, ${meta.cpuModel}.`,
    `${rounds} rounds, engines interleaved in rotating order, each run a fresh process: 1 warm-up + ${repeats} timed steps.`,
    `Medians. 1-minute load average ${loadBefore.toFixed(1)} before, ${meta.loadAverage.after.toFixed(1)} after (other work shares this machine).`,
    '',
    '| model | engine | step (ms) | time ratio vs PyTorch | peak RSS (MB) | memory ratio vs PyTorch | loss | grad norm |',
    '|---|---|---|---|---|---|---|---|',
    ...results.flatMap((r) => [
      ...r.variants.map(
        (v) =>
          `| ${r.size} | ${v.label} | ${v.stepMsMedian.toFixed(0)} | ${v.ratios.stepTime.toFixed(2)} | ${mb(v.peakRssMbMedian)} | ${v.ratios.peakRss.toFixed(2)} | ${v.loss.toFixed(6)} | ${v.gradNorm.toExponential(5)} |`,
      ),
      `| ${r.size} | PyTorch ${r.torch.version} | ${r.torch.stepMsMedian.toFixed(0)} | 1 | ${mb(r.torch.peakRssMbMedian)} | 1 | ${r.torch.loss.toFixed(6)} | ${r.torch.gradNorm.toExponential(5)} |`,
    ]),
    '',
    '| model | weights (MB) | graph build (ms) | session create (ms) | ONNX nodes | model bytes | optimized model: initializer bytes / weight bytes |',
    '|---|---|---|---|---|---|---|',
    ...results.map((r) => {
      const o = r.graph.optimizedModel;
      return `| ${r.size} | ${mb(r.weightMB)} | ${r.graph.buildMsMedian.toFixed(0)} | ${r.graph.sessionMsMedian.toFixed(0)} | ${r.graph.onnxNodes} | ${r.graph.modelBytes} | ${o ? (o.initializerBytes / o.weightBytes).toFixed(3) : 'n/a'} |`;
    }),
    '',
    'Ratios are ours / PyTorch (below 1 is better for us). Weights are external data in a .safetensors file.',
  ];
  writeResults('engine', { meta, results }, lines);
  console.log(lines.join('\n'));
}

await main();
