/**
 * `npm run bench:train`: whole training steps (forward + backward + global-norm clipping + AdamW
 * update) of prompt tuning, LoRA and full fine-tuning on our engine (train-worker.ts) versus
 * PyTorch doing exactly the same (test/reference/train_reference.py: the same HF folder, the same
 * initial trainables, the same sequence, hand-written LoRA, torch.optim.AdamW with the same
 * hyperparameters), at two model sizes.
 *
 * Each measurement runs in a fresh process (so peak RSS is its own); engines are interleaved
 * round by round in rotating order, because a shared machine's speed drifts. Both are pinned to
 * the same thread count and each reports what it actually ran with (torch.get_num_threads(), and
 * the OS threads our session's intra-op pool added). Each round also measures the machine's float32
 * matmul rate with both engines (the faster one counts), and each row prints its achieved GFLOP/s (model matmul FLOPs of the step
 * / median step time) beside that peak. The last step's loss of both engines is printed too: equal
 * losses after the same updates show that both did the same work.
 * Writes bench/results/train-<date>.json and .md.
 *
 *   npm run bench:train [-- --sizes small,large --methods pt,lora,full --rounds 3 --repeats 3 --threads 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { LlamaConfig } from '../src-main/backbone/hf/config.js';
import { openBackbone } from '../src-main/backbone/load.js';
import { seededRandom } from '../src-main/common/random.js';
import type { TokenizedExample } from '../src-main/peft/batches.js';
import { createMethod } from '../src-main/peft/methods.js';
import { TrainConfigSchema } from '../src-main/peft/config.js';
import { findTorchPython, runJsonProcess, TRAIN_REFERENCE_SCRIPT } from '../test/reference/torch-python.js';
import { writeTinyLlamaFolder } from '../test/support/tiny-llama.js';
import { arg, machine, median, runWorkerProcess, writeResults } from './support.js';
import { BENCH_SIZES, type BenchSize } from './support.js';
import type { MatmulPeakRequest, TrainWorkerRequest, TrainWorkerResult } from './train-worker.js';

const SIZES: Record<string, BenchSize> = BENCH_SIZES;
const SEQUENCE = 256;
const PROMPT_LENGTH = 16; // PT: 16 virtual tokens + 240 tokens = 256 positions
const LORA = { rank: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] };
const METHODS: Record<string, { label: string; settings: Record<string, unknown>; tokens: number }> = {
  pt: {
    label: `PT (L = ${PROMPT_LENGTH})`,
    settings: { promptLength: PROMPT_LENGTH },
    tokens: SEQUENCE - PROMPT_LENGTH,
  },
  lora: { label: `LoRA r ${LORA.rank} on q_proj, v_proj`, settings: LORA, tokens: SEQUENCE },
  full: { label: 'full fine-tuning', settings: {}, tokens: SEQUENCE },
};
const SEED = 42;
/**
 * Untimed steps before the timed ones, for both engines. Two, because our full fine-tuning step
 * keeps getting faster over its first steps while the heap grows to the gradients' size (dim
 * 1024 x 12, one warm-up step: 5.8-7.8 s in the 2nd step, 3.7-5.2 s in the 3rd, 3.0-3.8 s in the
 * 4th; PyTorch's were flat after its first). A training run lives in the settled state.
 */
const WARMUP_STEPS = 2;
const PAD_ID = 2;
// The trainer's AdamW defaults, with weight decay on so that the decoupled decay is timed too.
const TRAIN = { ...TrainConfigSchema.parse({}), weightDecay: 0.01 };

/**
 * Matmul FLOPs of one step (batch 1): projections and the LM head forward (2 per multiply-add),
 * attention scores and context over the full S x S square, input gradients (linear layers once,
 * attention twice), weight gradients for full fine-tuning, and LoRA's thin products three times.
 * Elementwise work and the optimizer are not counted.
 */
function stepFlops(c: LlamaConfig, method: string, tokens: number, prompt: number): number {
  const S = tokens + prompt;
  const attnWidth = c.numHeads * c.headDim;
  const kvWidth = c.numKvHeads * c.headDim;
  const layerParams = 2 * c.hiddenSize * attnWidth + 2 * c.hiddenSize * kvWidth + 3 * c.hiddenSize * c.intermediateSize;
  const linear = 2 * S * c.numLayers * layerParams + 2 * tokens * c.hiddenSize * c.vocabSize;
  const attention = c.numLayers * 2 * 2 * S * S * attnWidth;
  let flops = 2 * linear + 3 * attention; // forward + input gradients
  if (method === 'full') flops += linear;
  if (method === 'lora') {
    const qv = LORA.rank * (c.hiddenSize + attnWidth) + LORA.rank * (c.hiddenSize + kvWidth);
    flops += 3 * 2 * S * c.numLayers * qv;
  }
  return flops;
}

interface TorchBenchResult {
  step_ms: number[];
  peak_rss_mb: number;
  loss: number;
  grad_norm: number;
  threads: number;
  torch: string;
}

interface Run {
  stepMs: number[];
  /** Ours only: clipping + AdamW in TypeScript, part of stepMs. */
  optimizerMs?: number[];
  peakRssMb: number;
  loss: number;
  gradNorm: number;
  threads: number;
}

async function main(): Promise<void> {
  const sizes = arg('sizes', 'small,large').split(',');
  const methods = arg('methods', 'pt,lora,full').split(',');
  const rounds = Number(arg('rounds', '3'));
  const repeats = Number(arg('repeats', '3'));
  const threads = Number(arg('threads', String(cpus().length)));
  const torch = findTorchPython();
  if (!torch.python) throw new Error(`The PyTorch reference is needed for the comparison: ${torch.why}`);
  const python = torch.python;
  for (const m of methods)
    if (!METHODS[m]) throw new Error(`Unknown method ${m}; use ${Object.keys(METHODS).join(', ')}`);
  const before = machine();
  const scratch = mkdtempSync(join(tmpdir(), 'bench-train-'));
  const results = [];
  const peaks: number[] = [];
  const torchPeaks: number[] = [];
  const ortPeaks: number[] = [];
  // The machine's matmul rate, as the faster of the two engines measures it (each round, both).
  const measurePeak = () => {
    const r = runJsonProcess<{ gflops: number[]; threads: number }>(
      python,
      [TRAIN_REFERENCE_SCRIPT],
      { matmul_peak: { n: 2048, repeats: 5 }, threads },
      { what: 'matmul peak' },
    );
    if (r.threads !== threads) throw new Error(`torch ran the matmul with ${r.threads} threads, not ${threads}`);
    const o = runWorkerProcess<MatmulPeakRequest, { gflops: number[] }>('train-worker.ts', {
      matmulPeak: { n: 2048, repeats: 5 },
      threads,
    });
    torchPeaks.push(Math.max(...r.gflops));
    ortPeaks.push(Math.max(...o.gflops));
    peaks.push(Math.max(torchPeaks.at(-1)!, ortPeaks.at(-1)!));
  };
  let torchVersion = '';
  try {
    for (const sizeKey of sizes) {
      const size = SIZES[sizeKey];
      if (!size) throw new Error(`Unknown size ${sizeKey}; use ${Object.keys(SIZES).join(', ')}`);
      const dir = join(scratch, sizeKey);
      console.error(`[${size.name}] writing the model folder...`);
      writeTinyLlamaFolder(dir, { config: size.config, seed: 1 });
      const backbone = openBackbone(dir);
      const r = seededRandom(2);
      const ids = Array.from({ length: SEQUENCE }, () => 3 + Math.floor(r() * (size.config.vocabSize - 3)));

      const jobs = methods.map((m) => {
        const spec = METHODS[m]!;
        const example: TokenizedExample = { ids: ids.slice(0, spec.tokens), targetStart: 1 };
        const method = createMethod(m, spec.settings, { backbone, backboneName: 'bench' });
        const lr = method.defaultLr;
        const ours: TrainWorkerRequest = {
          dir,
          method: m,
          settings: spec.settings,
          seed: SEED,
          example,
          padId: PAD_ID,
          threads,
          lr,
          adamw: TRAIN,
          maxGradNorm: TRAIN.maxGradNorm,
          warmup: WARMUP_STEPS,
          repeats,
        };
        // PyTorch starts from the values our method starts from (full fine-tuning: the folder's weights).
        const values = m === 'full' ? undefined : method.initialValues(seededRandom(SEED));
        const theirs = {
          dir,
          method: m,
          ...(m === 'lora' && { lora: { r: LORA.rank, alpha: LORA.alpha, target_modules: LORA.targetModules } }),
          ...(values && { values: Object.fromEntries([...values].map(([n, v]) => [n, Array.from(v)])) }),
          batches: [
            {
              input_ids: [example.ids],
              attention_mask: [example.ids.map(() => 1)],
              labels: [example.ids.map((id, k) => (k >= example.targetStart ? id : -100))],
            },
          ],
          dtype: 'float32',
          threads,
          bench: {
            warmup: WARMUP_STEPS,
            repeats,
            lr,
            betas: [TRAIN.beta1, TRAIN.beta2],
            eps: TRAIN.epsilon,
            weight_decay: TRAIN.weightDecay,
            max_grad_norm: TRAIN.maxGradNorm,
          },
        };
        return { m, spec, ours, theirs, runs: { ours: [] as Run[], torch: [] as Run[] } };
      });

      for (let round = 0; round < rounds; round++) {
        measurePeak();
        for (const job of jobs) {
          const order = round % 2 === 0 ? (['ours', 'torch'] as const) : (['torch', 'ours'] as const);
          for (const who of order) {
            console.error(`[${size.name}] round ${round + 1}/${rounds}: ${job.m} ${who}`);
            if (who === 'ours') {
              const o = runWorkerProcess<TrainWorkerRequest, TrainWorkerResult>('train-worker.ts', job.ours);
              job.runs.ours.push({
                stepMs: o.step_ms,
                optimizerMs: o.optimizer_ms,
                peakRssMb: o.peak_rss_mb,
                loss: o.loss,
                gradNorm: o.grad_norm,
                threads: o.intra_op_threads,
              });
            } else {
              const t = runJsonProcess<TorchBenchResult>(python, [TRAIN_REFERENCE_SCRIPT], job.theirs, {
                what: 'PyTorch training benchmark',
                timeoutMs: 0,
              });
              torchVersion = t.torch;
              job.runs.torch.push({
                stepMs: t.step_ms,
                peakRssMb: t.peak_rss_mb,
                loss: t.loss,
                gradNorm: t.grad_norm,
                threads: t.threads,
              });
            }
          }
        }
      }

      for (const job of jobs) {
        const flops = stepFlops(size.config, job.m, job.spec.tokens, job.m === 'pt' ? PROMPT_LENGTH : 0);
        const summary = (runs: Run[]) => {
          const stepMs = median(runs.flatMap((x) => x.stepMs));
          return {
            stepMsMedian: stepMs,
            optimizerMsMedian: runs[0]!.optimizerMs ? median(runs.flatMap((x) => x.optimizerMs!)) : undefined,
            peakRssMbMedian: median(runs.map((x) => x.peakRssMb)),
            gflops: flops / (stepMs / 1000) / 1e9,
            threads: [...new Set(runs.map((x) => x.threads))],
            lastLoss: runs[0]!.loss,
            lastGradNorm: runs[0]!.gradNorm,
            stepMsAll: runs.map((x) => x.stepMs),
          };
        };
        const ours = summary(job.runs.ours);
        const ref = summary(job.runs.torch);
        for (const [who, s] of [
          ['ours', ours],
          ['torch', ref],
        ] as const)
          if (s.threads.some((t) => t !== threads))
            throw new Error(`${who} ran ${job.m} with ${s.threads.join('/')} threads, not ${threads}`);
        results.push({
          size: size.name,
          method: job.m,
          label: job.spec.label,
          config: size.config,
          sequence: SEQUENCE,
          stepGflop: flops / 1e9,
          lr: job.ours.lr,
          ours,
          torch: ref,
          ratios: {
            stepTime: ours.stepMsMedian / ref.stepMsMedian,
            peakRss: ours.peakRssMbMedian / ref.peakRssMbMedian,
          },
          lossRelDiff: Math.abs(ours.lastLoss - ref.lastLoss) / Math.abs(ref.lastLoss),
        });
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const peak = median(peaks);
  const meta = {
    ...machine(),
    loadAverageBefore: before.loadAverage,
    threads,
    rounds,
    repeats,
    torch: torchVersion,
    matmulPeakGflops: { median: peak, perRound: peaks, torch: torchPeaks, onnxruntime: ortPeaks },
    adamw: TRAIN,
  };
  const pct = (g: number) => `${((100 * g) / peak).toFixed(0)}%`;
  const lines = [
    `# Training-step benchmark ${meta.date}`,
    '',
    `One training step (forward + backward + global-norm clipping at ${TRAIN.maxGradNorm} + AdamW update with`,
    `betas ${TRAIN.beta1}/${TRAIN.beta2}, eps ${TRAIN.epsilon}, weight decay ${TRAIN.weightDecay}), batch 1, sequence ${SEQUENCE},`,
    `vocab 32000, float32 on CPU, ${meta.cpuModel}, ours and PyTorch ${torchVersion} (torch.optim.AdamW) both pinned`,
    `to ${threads} threads (checked: torch.get_num_threads() and the threads our session's pool added).`,
    `${rounds} rounds, engines interleaved in alternating order, each run a fresh process: ${WARMUP_STEPS} warm-up + ${repeats} timed steps.`,
    `Medians. Machine float32 matmul peak (2048^3, ${threads} threads, best of 5, the faster engine, median over rounds): ${peak.toFixed(1)} GFLOP/s`,
    `(torch ${median(torchPeaks).toFixed(1)}, onnxruntime ${median(ortPeaks).toFixed(1)}).`,
    `1-minute load average ${before.loadAverage[0]!.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (other work shares this machine).`,
    '',
    '| model | method | ours step (ms) | of which clipping + AdamW (ms) | PyTorch step (ms) | time ratio | ours peak RSS (MB) | PyTorch peak RSS (MB) | memory ratio | ours GFLOP/s (% of peak) | PyTorch GFLOP/s (% of peak) | last loss ours / PyTorch |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.size} | ${r.label} | ${r.ours.stepMsMedian.toFixed(0)} | ${r.ours.optimizerMsMedian!.toFixed(0)} | ${r.torch.stepMsMedian.toFixed(0)} | ${r.ratios.stepTime.toFixed(2)} | ${r.ours.peakRssMbMedian.toFixed(0)} | ${r.torch.peakRssMbMedian.toFixed(0)} | ${r.ratios.peakRss.toFixed(2)} | ${r.ours.gflops.toFixed(1)} (${pct(r.ours.gflops)}) | ${r.torch.gflops.toFixed(1)} (${pct(r.torch.gflops)}) | ${r.ours.lastLoss.toFixed(5)} / ${r.torch.lastLoss.toFixed(5)} |`,
    ),
    '',
    'Ratios are ours / PyTorch (below 1 is better for us); the goal is at most 0.7 (time) and 1.0 (memory).',
    "GFLOP/s counts the step's matmul FLOPs (projections, LM head, attention; input gradients; weight gradients",
    "for full fine-tuning; LoRA's thin products), not elementwise work or the optimizer. The last step's loss after",
    `${WARMUP_STEPS + repeats} identical updates is the same on both sides when both engines did the same work.`,
    'Our full fine-tuning runs its default step, one decoder layer at a time (gradient checkpointing: the forward',
    'pass runs twice, and the second time is not counted in GFLOP/s); PyTorch keeps every activation.',
  ];
  const md = writeResults('train', { meta, results }, lines);
  console.log(lines.join('\n'));
  console.error(`written: ${md}`);
}

await main();
