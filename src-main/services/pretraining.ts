/**
 * Pretraining the embedded default backbone from scratch with ClinPrompt's own engine: a byte-level
 * BPE tokenizer learned on the corpus, a freshly initialised LLaMA-architecture model, then the
 * full-training path (peft/full + the shared trainer) on language modelling, where every token of
 * a text window carries loss. The work folder keeps the tokenizer, the initial model and the
 * trainer's checkpoints, so a killed run started again with the same recipe continues where it
 * stopped and ends with the same weights. The finished model is a standard Hugging Face folder.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SOURCE_TASKS } from '../data/catalogue.js';
import type { SourceTask } from '../data/catalogue.js';
import { UserError } from '../common/errors.js';
import type { ProviderChoice } from '../engine/index.js';
import type { LlamaConfig } from '../backbone/hf/config.js';
import { SHIPPED_META_PROMPT } from '../backbone/embedded.js';
import { writeInitialModel } from '../backbone/hf/initial-weights.js';
import { openBackbone } from '../backbone/load.js';
import type { Backbone } from '../backbone/load.js';
import type { CopyProbeResult } from '../backbone/generate/copy-probe.js';
import { copyProbe } from '../backbone/generate/copy-probe.js';
import { perplexity } from '../backbone/generate/perplexity.js';
import { BackboneRunner } from '../backbone/generate/runner.js';
import { SPECIAL_TOKENS, trainByteLevelBpe, writeTokenizerFiles } from '../backbone/tokenizer/bpe-training.js';
import type { TrainingText } from '../peft/batches.js';
import type { TrainConfig } from '../peft/config.js';
import { TrainConfigSchema } from '../peft/config.js';
import { FULL_MODEL_DIR } from '../peft/full/model.js';
import { createMethod } from '../peft/methods.js';
import type { RunRecord } from '../peft/run-folder.js';
import { readRunRecord } from '../peft/run-folder.js';
import type { PeftAdapter } from '../peft/adapter-folder.js';
import type { TrainProgress } from '../peft/trainer.js';
import { train } from '../peft/trainer.js';
import type { PretrainingCorpus } from './pretraining-corpus.js';
import { pretrainingCorpus } from './pretraining-corpus.js';
import { seededRandom } from '../common/random.js';
import { replaceFileAtomically } from '../store/atomic-file.js';

/** The model's shape; the rest of the LLaMA config follows LLaMA 3's choices. */
export interface PretrainModelShape {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  /** Context length (and the training window). */
  readonly maxPositions: number;
}

export interface PretrainRecipe {
  readonly model: PretrainModelShape;
  /** Trainer settings (steps, batch, learning rate, schedule, ...); maxLength is the context. */
  readonly train: Partial<TrainConfig>;
  readonly seed: number;
  /** Catalogue datasets whose train splits join the transcriptions (default: all of them). */
  readonly datasets?: readonly string[];
  /** How the corpus becomes training windows (default: each document cut on its own, nothing repeated). */
  readonly windows?: WindowRecipe;
  /**
   * Phases run one after another, each from the weights the one before left (default: one phase
   * with the recipe's windows and trainer settings). A stage's own settings override the recipe's.
   */
  readonly stages?: readonly PretrainStage[];
  /** Measure in-context copying on held-out text every N steps, for the card's curve (default 0: only at the end). */
  readonly probeEvery?: number;
}

export interface PretrainStage {
  /** Shown in progress lines and on the model card, e.g. "copy drills". */
  readonly name: string;
  /** Window length in tokens, at most the context (default): short windows make a cheap drill. */
  readonly windowTokens?: number;
  readonly windows?: WindowRecipe;
  /** Trainer settings over the recipe's `train`. */
  readonly train?: Partial<TrainConfig>;
}

export interface WindowRecipe {
  /**
   * Documents run on into the next window (a blank line between them), so that every window is
   * full: cut on its own, an average document fills less than half of a 256-token window.
   */
  readonly pack?: boolean;
  /**
   * A share of the windows in which a passage comes back later. Reading back in the context
   * (Olsson et al.'s induction heads) otherwise emerges only after far more tokens than a CPU-hour
   * gives, and soft prompts act only through the context.
   */
  readonly repeats?: RepeatRecipe;
  /**
   * Instead of the corpus's windows: `count` drills for reading back in the context, each a lead,
   * a passage, a gap and the passage again, every piece cut from a random document of its own.
   * Pieces of different documents share few words, so the copy's words point back to the passage
   * alone; repeats inside one document's text, whose words recur anyway, taught a fresh model the
   * opposite (native-models/README.md).
   */
  readonly drills?: DrillRecipe;
}

export interface DrillRecipe {
  /**
   * The drills join the corpus's windows (packed and repeated as set) instead of replacing them:
   * plain text alone lets a skill the drills have just formed fade again (native-models/README.md).
   */
  readonly amongText?: boolean;
  readonly count: number;
  readonly leadWords: readonly [number, number];
  readonly passageWords: readonly [number, number];
  readonly gapWords: readonly [number, number];
}

/** Word counts are drawn uniformly from [min, max] for each window. */
export interface RepeatRecipe {
  readonly share: number;
  /** Where the passage starts, in words from the window's start. */
  readonly startWords: readonly [number, number];
  readonly passageWords: readonly [number, number];
  /**
   * Words of the window between the passage and its copy. Drawn at random so that only the
   * passage's content, not a fixed distance back, says where the copy comes from: with a fixed
   * distance a model learns "look N tokens back" instead (bench/results/induction-2026-11-28.md).
   */
  readonly gapWords: readonly [number, number];
}

export interface PretrainRequest {
  readonly recipe: PretrainRecipe;
  readonly sharedDataDir: string;
  /** Tokenizer, initial model and checkpoints (resumable state; never shipped). */
  readonly workDir: string;
  /** The finished Hugging Face folder. */
  readonly outDir: string;
  readonly provider?: ProviderChoice;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress | { phase: 'prepare'; message: string }) => void;
}

/** What one stage did (recipes with stages; steps and tokens of the whole run are their sums). */
export interface PretrainStageRecord {
  readonly name: string;
  readonly trainWindows: number;
  readonly windowTokens: number;
  readonly steps: number;
  readonly tokensSeen: number;
  readonly wallSeconds: number;
}

export interface PretrainRecord {
  readonly recipe: PretrainRecipe;
  readonly stages?: readonly PretrainStageRecord[];
  readonly parameters: number;
  readonly corpus: PretrainingCorpus['sources'];
  readonly trainWindows: number;
  readonly tokensSeen: number;
  readonly steps: number;
  readonly resumedFromStep: number;
  readonly wallSeconds: number;
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
  /** Mean training loss per 5% of the run, for the model card's curve. */
  readonly lossCurve: readonly { step: number; loss: number }[];
  /** Copy gain (nats) on held-out spans during training, every probeEvery steps (steps of the whole run); absent in older records. */
  readonly copyCurve?: readonly { step: number; gain: number }[];
  readonly heldOut: {
    readonly documents: number;
    readonly tokens: number;
    readonly perplexity: number;
    readonly window: number;
    /** How much the backbone uses its context (copy-probe.ts); absent in records older than the probe. */
    readonly copy?: CopyProbeResult;
  };
  readonly hardware: { readonly cpu: string; readonly cores: number; readonly provider: string };
}

export function llamaConfigOf(shape: PretrainModelShape): LlamaConfig {
  return {
    architecture: 'llama',
    vocabSize: shape.vocabSize,
    hiddenSize: shape.hiddenSize,
    intermediateSize: shape.intermediateSize,
    numLayers: shape.numLayers,
    numHeads: shape.numHeads,
    numKvHeads: shape.numKvHeads,
    headDim: shape.hiddenSize / shape.numHeads,
    maxPositions: shape.maxPositions,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: { type: 'default' },
    tieWordEmbeddings: true, // at this size the embedding is most of the model
    attentionBias: false,
    bosTokenId: 0,
    eosTokenIds: [1],
    slidingWindow: undefined,
    torchDtype: 'float32',
  };
}

function catalogueDatasets(names: readonly string[] | undefined): readonly SourceTask[] {
  if (names === undefined) return SOURCE_TASKS;
  return names.map((name) => {
    const entry = SOURCE_TASKS.find((t) => t.name === name);
    if (!entry)
      throw new UserError(
        'INVALID_ARGUMENT',
        `Recipe: datasets: "${name}" is not in the catalogue (${SOURCE_TASKS.map((t) => t.name).join(', ')}).`,
      );
    return entry;
  });
}

/** Token ids of the special tokens, as bpe-training.ts lays them out. */
const specialId = (token: string) => Object.values(SPECIAL_TOKENS).indexOf(token as never);

function writeGenerationConfig(dir: string): void {
  writeFileSync(
    path.join(dir, 'generation_config.json'),
    JSON.stringify(
      {
        bos_token_id: specialId(SPECIAL_TOKENS.bos),
        eos_token_id: [specialId(SPECIAL_TOKENS.eos), specialId(SPECIAL_TOKENS.endOfTurn)],
        pad_token_id: specialId(SPECIAL_TOKENS.pad),
        do_sample: false,
      },
      null,
      2,
    ),
  );
}

/**
 * Cuts documents into training windows of at most `budget` tokens at line ends (a line longer
 * than the budget is cut between tokens), as text: the trainer tokenizes texts itself. Packed,
 * a document continues in the window its predecessor left open, after a blank line.
 */
export function textWindows(backbone: Backbone, documents: readonly string[], budget: number, pack = false): string[] {
  const tok = backbone.tokenizer;
  const windows: string[] = [];
  let current = '';
  let used = 0;
  const flush = () => {
    if (current.trim().length > 0) windows.push(current);
    current = '';
    used = 0;
  };
  for (const doc of documents) {
    for (const [i, line] of doc.split('\n').entries()) {
      const text = current.length === 0 ? line : `${i === 0 ? '\n\n' : '\n'}${line}`;
      const ids = tok.encode(text, { addSpecialTokens: false });
      if (used + ids.length <= budget) {
        current += text;
        used += ids.length;
        continue;
      }
      flush();
      const lineIds = tok.encode(line, { addSpecialTokens: false });
      for (let k = 0; k < lineIds.length; k += budget) {
        const piece = lineIds.slice(k, k + budget);
        if (piece.length === budget || k + budget < lineIds.length) windows.push(tok.decode(piece));
        else {
          current = tok.decode(piece);
          used = piece.length;
        }
      }
    }
    if (!pack) flush();
  }
  flush();
  return windows;
}

/**
 * Gives a seeded share of the windows a passage that comes back: `passageWords` words from near the
 * window's start are written again after `gapWords` more words of the window, and the rest of the
 * window follows. The window's end is cut so that it keeps within `budget` tokens.
 */
export function repeatPassages(
  backbone: Backbone,
  windows: readonly string[],
  repeats: RepeatRecipe | undefined,
  budget: number,
  seed: number,
): string[] {
  if (!repeats || repeats.share <= 0) return [...windows];
  const { random, draw } = seededDraws(seed);
  return windows.map((w) => {
    if (random() >= repeats.share) return w;
    const [start, length, gap] = [draw(repeats.startWords), draw(repeats.passageWords), draw(repeats.gapWords)];
    const words = w.match(/\s*\S+\s*/g) ?? [];
    const passage = words.slice(start, start + length);
    if (passage.length < 2) return w; // a window too short to repeat anything
    const spaced = (piece: string) => (/\s$/.test(piece) ? piece : `${piece} `);
    const before = words.slice(0, start + length + gap);
    const text = [...before.slice(0, -1), spaced(before.at(-1)!), ...passage.slice(0, -1), spaced(passage.at(-1)!)]
      .concat(words.slice(start + length + gap))
      .join('')
      .trimEnd();
    return cutToBudget(backbone, text, budget);
  });
}

/**
 * Drills for reading back in the context (see `DrillRecipe`), seeded, each cut to `budget` tokens.
 * A piece is a run of words from a random document at a random place.
 */
export function copyDrills(
  backbone: Backbone,
  documents: readonly string[],
  drills: DrillRecipe,
  budget: number,
  seed: number,
): string[] {
  const longest = Math.max(drills.leadWords[1], drills.passageWords[1], drills.gapWords[1]);
  const sources = documents.map((d) => d.match(/\S+/g) ?? []).filter((words) => words.length >= longest);
  if (sources.length === 0)
    throw new UserError(
      'INVALID_ARGUMENT',
      `Recipe: drills: no document of the corpus has ${longest} words, the longest piece a drill asks for.`,
    );
  const { random, draw } = seededDraws(seed);
  const piece = (length: number): string[] => {
    const words = sources[Math.floor(random() * sources.length)]!;
    const at = Math.floor(random() * (words.length - length + 1));
    return words.slice(at, at + length);
  };
  return Array.from({ length: drills.count }, () => {
    const lead = piece(draw(drills.leadWords));
    const passage = piece(draw(drills.passageWords));
    const gap = piece(draw(drills.gapWords));
    return cutToBudget(backbone, [...lead, ...passage, ...gap, ...passage].join(' '), budget);
  });
}

/**
 * A stage's training windows as its recipe says: the documents cut (or packed) into windows, a share
 * of them repeating a passage, or copy drills instead of them or among them. Seeded; the trainer
 * shuffles them.
 */
export function stageWindows(
  backbone: Backbone,
  documents: readonly string[],
  recipe: WindowRecipe | undefined,
  budget: number,
  seed: number,
): string[] {
  const drills = recipe?.drills;
  if (drills && !drills.amongText) return copyDrills(backbone, documents, drills, budget, seed);
  const text = repeatPassages(
    backbone,
    textWindows(backbone, documents, budget, recipe?.pack ?? false),
    recipe?.repeats,
    budget,
    seed,
  );
  // beside repeats, the drills draw from a seeded stream of their own
  return drills ? [...text, ...copyDrills(backbone, documents, drills, budget, seed + 0x5eed)] : text;
}

/** A seeded stream of numbers in [0, 1), and whole numbers drawn uniformly from [min, max]. */
function seededDraws(seed: number) {
  const random = seededRandom((seed * 2_654_435_761) >>> 0);
  const draw = ([min, max]: readonly [number, number]) => min + Math.floor(random() * (max - min + 1));
  return { random, draw };
}

/** `text`, its end cut so that it is at most `budget` tokens. */
function cutToBudget(backbone: Backbone, text: string, budget: number): string {
  const ids = backbone.tokenizer.encode(text, { addSpecialTokens: false });
  return ids.length <= budget ? text : backbone.tokenizer.decode(ids.slice(0, budget));
}

/** Held-out spans of the copy probe at each check during training (the final one reads 40). */
export const PROBE_SPANS_DURING_TRAINING = 20;

/** Steps 1..n grouped into `parts` spans, mean loss of each. */
function lossCurve(losses: readonly number[], parts = 20): { step: number; loss: number }[] {
  const size = Math.max(1, Math.ceil(losses.length / parts));
  const out: { step: number; loss: number }[] = [];
  for (let i = 0; i < losses.length; i += size) {
    const span = losses.slice(i, i + size);
    out.push({ step: i + span.length, loss: span.reduce((a, b) => a + b, 0) / span.length });
  }
  return out;
}

export async function pretrainBackbone(r: PretrainRequest): Promise<PretrainRecord> {
  const { recipe } = r;
  const say = (message: string) => r.onProgress?.({ phase: 'prepare', message });
  const config = llamaConfigOf(recipe.model);
  mkdirSync(r.workDir, { recursive: true });

  say('reading the corpus');
  const corpus = await pretrainingCorpus(r.sharedDataDir, catalogueDatasets(recipe.datasets));
  const initDir = path.join(r.workDir, 'initial-model');
  const recipeKey = createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 12);
  const stamp = path.join(initDir, `recipe-${recipeKey}`);
  if (!existsSync(stamp)) {
    // a new recipe starts over: its tokenizer, initial weights and checkpoints all change
    rmSync(r.workDir, { recursive: true, force: true });
    mkdirSync(initDir, { recursive: true });
    say(`training a ${recipe.model.vocabSize}-token byte-level BPE tokenizer`);
    const corpusFile = path.join(r.workDir, 'corpus.txt');
    writeFileSync(corpusFile, corpus.train.join('\n\n'));
    writeTokenizerFiles(initDir, trainByteLevelBpe([corpusFile], recipe.model.vocabSize, recipe.model.maxPositions));
    rmSync(corpusFile);
    writeInitialModel(initDir, config, recipe.seed);
    writeGenerationConfig(initDir);
    writeFileSync(stamp, JSON.stringify(recipe, null, 2));
  }
  const window = recipe.model.maxPositions;
  // a span and its repeat (plus BOS) must fit the context
  const spanTokens = Math.min(48, (window - 1) >> 1);
  const probeEvery = recipe.probeEvery ?? 0;
  const stages = stagesOf(recipe);
  const done: StageOutcome[] = [];
  let from = initDir;
  for (const [i, stage] of stages.entries()) {
    const stageDir = path.join(r.workDir, `stage-${i + 1}`);
    const outcome =
      readStageOutcome(stageDir) ??
      (await trainStage(r, stage, {
        from,
        stageDir,
        seed: recipe.seed + i,
        stepsBefore: done.reduce((n, o) => n + o.steps, 0),
        corpus,
        probeSpanTokens: spanTokens,
      }));
    done.push(outcome);
    from = stageModelDir(stageDir);
  }

  mkdirSync(r.outDir, { recursive: true });
  for (const f of MODEL_FILES) copyFileSync(path.join(from, f), path.join(r.outDir, f));

  say('measuring held-out perplexity');
  const trained = openBackbone(r.outDir);
  const runner = await BackboneRunner.create(trained, {
    contextTokens: recipe.model.maxPositions,
    ...(r.provider && { provider: r.provider }),
  });
  const heldOut = await perplexity(runner, corpus.heldOut, window);
  say('measuring in-context copying on held-out text');
  const copy = await copyProbe(runner, corpus.heldOut, spanTokens);
  await runner.release();
  const cpus = os.cpus();
  const losses = done.flatMap((o) => o.losses);
  const sum = (f: (o: StageOutcome) => number) => done.reduce((n, o) => n + f(o), 0);
  // a stage that resumed counts the steps of the stages before it
  const resumed = done.findIndex((o) => o.resumedFromStep > 0);
  return {
    recipe,
    ...(recipe.stages && {
      stages: done.map((o) => ({
        name: o.name,
        trainWindows: o.trainWindows,
        windowTokens: o.windowTokens,
        steps: o.steps,
        tokensSeen: o.tokensSeen,
        wallSeconds: o.wallSeconds,
      })),
    }),
    parameters: trained.parameters,
    corpus: corpus.sources,
    trainWindows: sum((o) => o.trainWindows),
    tokensSeen: sum((o) => o.tokensSeen),
    steps: sum((o) => o.steps),
    resumedFromStep:
      resumed < 0 ? 0 : done.slice(0, resumed).reduce((n, o) => n + o.steps, 0) + done[resumed]!.resumedFromStep,
    wallSeconds: sum((o) => o.wallSeconds),
    firstLoss: losses[0] ?? null,
    lastLoss: losses.at(-1) ?? null,
    lossCurve: lossCurve(losses),
    ...(probeEvery > 0 && { copyCurve: done.flatMap((o) => o.copyCurve) }),
    heldOut: {
      documents: corpus.heldOut.length,
      tokens: heldOut.tokens,
      perplexity: heldOut.perplexity,
      window,
      copy,
    },
    hardware: { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, provider: done.at(-1)!.provider },
  };
}

const MODEL_FILES = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
];

/** A recipe's stages; a recipe without any is one stage of its windows and trainer settings. */
export function stagesOf(recipe: PretrainRecipe): readonly PretrainStage[] {
  return recipe.stages ?? [{ name: 'language modelling' }];
}

/** What a finished stage did, kept in its folder so that a resumed run skips it. */
interface StageOutcome extends PretrainStageRecord {
  readonly losses: readonly number[];
  readonly copyCurve: readonly { step: number; gain: number }[];
  readonly resumedFromStep: number;
  readonly provider: string;
}

const STAGE_RECORD = 'stage.json';

/** The Hugging Face folder a finished stage leaves (the full-training save), where the next one starts. */
const stageModelDir = (stageDir: string) => path.join(stageDir, 'final', FULL_MODEL_DIR);

function readStageOutcome(stageDir: string): StageOutcome | undefined {
  const file = path.join(stageDir, STAGE_RECORD);
  return existsSync(path.join(stageModelDir(stageDir), 'model.safetensors')) && existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as StageOutcome)
    : undefined;
}

interface StageContext {
  /** The model folder the stage starts from. */
  readonly from: string;
  readonly stageDir: string;
  readonly seed: number;
  /** Steps of the stages before (the copy curve counts steps of the whole run). */
  readonly stepsBefore: number;
  readonly corpus: PretrainingCorpus;
  /** Tokens of each held-out span the copy probe reads twice (every recipe.probeEvery steps). */
  readonly probeSpanTokens: number;
}

/** Trains one stage from its starting weights and leaves its model folder and record in `stageDir`. */
async function trainStage(r: PretrainRequest, stage: PretrainStage, c: StageContext): Promise<StageOutcome> {
  const { recipe } = r;
  const label = recipe.stages ? `stage "${stage.name}": ` : '';
  r.onProgress?.({ phase: 'prepare', message: `${label}cutting the corpus into training windows` });
  const windowTokens = stage.windowTokens ?? recipe.model.maxPositions;
  if (windowTokens > recipe.model.maxPositions)
    throw new UserError(
      'INVALID_ARGUMENT',
      `Recipe: stages: "${stage.name}" has windowTokens ${windowTokens}, longer than the context (${recipe.model.maxPositions}).`,
    );
  const backbone = openBackbone(c.from);
  // room for BOS and EOS, and for a window's text tokenizing a little differently on its own
  const budget = windowTokens - 8;
  const windows = stageWindows(backbone, c.corpus.train, stage.windows ?? recipe.windows, budget, c.seed);
  const texts: TrainingText[] = windows.map((target) => ({ prompt: '', target }));
  const probeEvery = recipe.probeEvery ?? 0;
  const trainConfig = TrainConfigSchema.parse({
    ...recipe.train,
    ...stage.train,
    maxLength: windowTokens,
    seed: c.seed,
    evalEvery: probeEvery,
  });
  const method = createMethod('full', {}, { backbone, backboneName: `embedded (${stage.name})` });
  const runDir = path.join(c.stageDir, 'run');
  mkdirSync(runDir, { recursive: true });
  const { onProgress } = r;
  const probe = async (adapter: PeftAdapter) => {
    const runner = await BackboneRunner.create(backbone, {
      contextTokens: recipe.model.maxPositions,
      ...(adapter.graph && { adapter: adapter.graph }),
      ...(r.provider && { provider: r.provider }),
      ...(trainConfig.threads !== undefined && { threads: trainConfig.threads }),
    });
    try {
      return (await copyProbe(runner, c.corpus.heldOut, c.probeSpanTokens, PROBE_SPANS_DURING_TRAINING)).gain;
    } finally {
      await runner.release();
    }
  };
  const outcome = await train({
    backbone,
    method,
    config: trainConfig,
    keep: 'last', // the probe watches the run; it does not pick the weights
    tasks: [{ name: 'corpus', texts }],
    runDir,
    dataKey: createHash('sha256').update(windows.join('\u0000')).digest('hex'),
    ...(r.provider && { provider: r.provider }),
    ...(r.signal && { signal: r.signal }),
    ...(onProgress && {
      // the bar shows the stage's steps; a probe's step is the whole run's, as in the copy curve
      onProgress: (p: TrainProgress) => onProgress(p.phase === 'evaluate' ? { ...p, step: c.stepsBefore + p.step } : p),
    }),
    ...(probeEvery > 0 && { evaluate: probe }),
  });

  r.onProgress?.({ phase: 'prepare', message: `${label}writing the model folder` });
  const saveDir = path.join(c.stageDir, 'final');
  rmSync(saveDir, { recursive: true, force: true });
  method.save(saveDir, outcome.values);
  const record: StageOutcome = {
    name: stage.name,
    trainWindows: windows.length,
    windowTokens,
    steps: outcome.steps,
    tokensSeen: outcome.tokensSeen,
    wallSeconds: outcome.seconds,
    losses: outcome.losses,
    copyCurve: outcome.evaluations.map((e) => ({ step: c.stepsBefore + e.step, gain: e.value })),
    resumedFromStep: outcome.resumedFromStep,
    provider: outcome.provider,
  };
  replaceFileAtomically(path.join(c.stageDir, STAGE_RECORD), JSON.stringify(record) + '\n');
  return record;
}

/** The files of a distilled meta-prompt that ship (PEFT's adapter files and the run record). */
const META_PROMPT_FILES = ['adapter_config.json', 'adapter_model.safetensors', 'run.json'];

/**
 * Ships a distilled meta-prompt (an mpt-distill run folder trained on this backbone) beside the
 * embedded backbone, so that adaptation starts from it out of the box.
 */
export function shipMetaPrompt(runDir: string, backboneDir: string): RunRecord {
  const record = readRunRecord(runDir);
  if (!record || record.method !== 'mpt-distill')
    throw new UserError('BAD_FILE', `${runDir} is not a finished mpt-distill run (no run.json of that method).`);
  const backbone = openBackbone(backboneDir);
  if (record.backbone.fingerprint !== backbone.fingerprint())
    throw new UserError(
      'BACKBONE_MISMATCH',
      `${runDir} was distilled on ${record.backbone.name}, not on ${backboneDir}. Distil it on this backbone first.`,
    );
  const dest = path.join(backboneDir, SHIPPED_META_PROMPT);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const f of META_PROMPT_FILES) copyFileSync(path.join(runDir, f), path.join(dest, f));
  return record;
}
