/**
 * The embedded backbone's model card (README.md in its folder), written from the records the
 * pretraining (and, when present, the meta-prompt distillation) left beside the weights, so that
 * every number on the card is the one measured.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { SHIPPED_META_PROMPT, SHIPPED_META_PROMPT_PACK } from '../backbone/embedded.js';
import type { CopyProbeResult } from '../backbone/generate/copy-probe.js';
import type { RunRecord } from '../peft/run-folder.js';
import { readRunRecord } from '../peft/run-folder.js';
import type { PretrainRecord, WindowRecipe } from './pretraining.js';
import { PROBE_SPANS_DURING_TRAINING } from './pretraining.js';

export const PRETRAINING_RECORD = 'pretraining.json';

const fmt = (n: number) => n.toLocaleString('en-US');

function hours(seconds: number): string {
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(2)} h` : `${(seconds / 60).toFixed(1)} min`;
}

export function modelCardText(r: PretrainRecord, extra: readonly string[] = []): string {
  const m = r.recipe.model;
  const corpusRows = r.corpus.map((s) => `| ${s.name} | ${fmt(s.documents)} | ${fmt(s.characters)} |`);
  return [
    '# ClinPrompt embedded backbone',
    '',
    "A small LLaMA-architecture language model of clinical text, pretrained from scratch by ClinPrompt's own",
    'engine (`npm run pretrain:backbone`), so that the app, its demo and its tests work out of the box on any',
    'workstation without a download. **A demo backbone, not a clinical model**: it writes fluent-looking',
    'clinical text but knows little medicine, makes things up, and must never inform care. Real deployments',
    'point ClinPrompt at LLaMA 3.1 8B or Meditron3 8B.',
    '',
    '## Architecture',
    '',
    `| | |`,
    `|---|---|`,
    `| parameters | ${fmt(r.parameters)} (embedding tied with the output layer) |`,
    `| layers / hidden / MLP | ${m.numLayers} / ${m.hiddenSize} / ${m.intermediateSize} (SwiGLU) |`,
    `| heads / kv heads | ${m.numHeads} / ${m.numKvHeads} (grouped-query attention, RoPE theta 10000) |`,
    `| context | ${m.maxPositions} tokens |`,
    `| tokenizer | byte-level BPE, ${fmt(m.vocabSize)} tokens incl. LLaMA 3's special tokens and chat template, trained on the corpus below with Hugging Face tokenizers |`,
    `| weights | float32, model.safetensors (Hugging Face layout: LlamaForCausalLM) |`,
    '',
    '## Data and licences',
    '',
    'Public text only, no patient data: the transcriptions of `corpus/mtsamples.txt` (mtsamples.com, research',
    "use) and the text of the TRAIN splits (never dev or test) of the public source datasets in ClinPrompt's",
    'catalogue (licences in `../shared/data/README.md`: CC BY 4.0, CC BY-NC 4.0 for DDI, MIT, ChemProt terms,',
    'NLI4CT with no licence stated). Because of the DDI (non-commercial) and mtsamples terms, these weights are',
    'for evaluation and research use.',
    '',
    '| source | documents | characters |',
    '|---|---|---|',
    ...corpusRows,
    '',
    `Held out for perplexity: ${fmt(r.heldOut.documents)} transcriptions (every 50th), ${fmt(r.heldOut.tokens)} tokens.`,
    '',
    '## Training',
    '',
    ...trainingLines(r),
    `Tokens seen: ${fmt(r.tokensSeen)}. Wall time: ${hours(r.wallSeconds)} on ${r.hardware.cores} cores of ${r.hardware.cpu}`,
    `(provider ${r.hardware.provider}). Training loss ${r.firstLoss?.toFixed(3)} at the first step, ${r.lastLoss?.toFixed(3)} at the last.`,
    '',
    '| step | mean training loss |',
    '|---|---|',
    ...r.lossCurve.map((p) => `| ${p.step} | ${p.loss.toFixed(3)} |`),
    '',
    '## Evaluation',
    '',
    `Held-out perplexity: **${r.heldOut.perplexity.toFixed(2)}** (windows of ${r.heldOut.window} tokens, BOS first, not overlapping).`,
    '',
    ...copySection(r.heldOut.copy, r.copyCurve),
    ...extra,
    '## Limits',
    '',
    '- Tiny and briefly trained: it repeats itself, drifts off topic and invents findings, drugs and doses.',
    "- English only; trained on transcription-style notes and biomedical abstracts, not on any hospital's notes.",
    ...contextLimit(r.heldOut.copy),
    '',
  ].join('\n');
}

/** Below this copy gain (nats) a backbone is taken as blind to its context. */
const READS_CONTEXT_GAIN = 0.5;

/** The limit that decides whether soft prompts can steer the backbone at all: its use of the context. */
function contextLimit(copy: CopyProbeResult | undefined): string[] {
  if (copy === undefined || copy.gain < READS_CONTEXT_GAIN)
    return [
      '- It barely reads its own context (the copy gain above is near 0): the answer it gives depends on the last',
      '  few tokens, not on an instruction or an example further back. Soft prompts act only through the context, so',
      "  prompt tuning and MPT cannot steer it: adapted prompts learn little beyond the answer's form (the shipped",
      "  meta-prompt makes MedMCQA's gold answers more likely than an untrained prompt does) and accuracies stay",
      '  at chance, while LoRA and full fine-tuning, which change the weights, do learn (see',
      '  `docs/results/embedded-experiment/`). Reading back in the context takes far more training than one',
      '  CPU-hour gives (`../README.md` says what was tried and which recipe should fix it). The demo shows the',
      '  whole job working end to end; its scores say nothing about what an 8B backbone reaches, nor about',
      '  clinical use.',
    ];
  return [
    `- It reads back in its context (a copy gain of ${copy.gain.toFixed(2)} nats), which soft prompts need, but that is`,
    '  most of what it does with the context: it has no grasp of an instruction and follows no example. An adapted',
    "  prompt learns the task's answers and their form from the training labels, not the reasoning a large model",
    '  brings. The demo shows the whole job working end to end; its scores say nothing about what an 8B backbone',
    '  reaches, nor about clinical use.',
  ];
}

/** The stages (or the one run) with their settings; recipes without stages keep their old wording. */
function trainingLines(r: PretrainRecord): string[] {
  const m = r.recipe.model;
  const t = r.recipe.train;
  if (!r.recipe.stages || !r.stages)
    return [
      `${fmt(r.steps)} optimizer steps of ${t.batchSize ?? 8} windows of up to ${m.maxPositions} tokens (AdamW, peak learning`,
      `rate ${t.lr}, ${t.schedule ?? 'linear'} decay after ${t.warmupSteps ?? 0} warm-up steps, weight decay ${t.weightDecay ?? 0}, betas`,
      `${t.beta1 ?? 0.9}/${t.beta2 ?? 0.999}, clipping at ${t.maxGradNorm ?? 1}), seed ${r.recipe.seed}; ${fmt(r.trainWindows)} training windows.`,
      ...windowsSentence(r.recipe.windows),
    ];
  const done = r.stages;
  return [
    `${done.length} stages, each starting from the weights the one before left (AdamW, weight decay ${t.weightDecay ?? 0},`,
    `betas ${t.beta1 ?? 0.9}/${t.beta2 ?? 0.999}, clipping at ${t.maxGradNorm ?? 1}), seed ${r.recipe.seed}:`,
    '',
    '| stage | steps | windows x tokens per step | peak learning rate | windows |',
    '|---|---|---|---|---|',
    ...r.recipe.stages.map((stage, i) => {
      const s = { ...t, ...stage.train };
      const d = done[i]!;
      const how = windowsSentence(stage.windows ?? r.recipe.windows).join(' ');
      return `| ${stage.name} | ${fmt(d.steps)} | ${s.batchSize ?? 8} x ${d.windowTokens} | ${s.lr} (${s.schedule ?? 'linear'}, ${s.warmupSteps ?? 0} warm-up steps) | ${fmt(d.trainWindows)}. ${how} |`;
    }),
    '',
  ];
}

/** How the corpus became windows (recipes before packing cut each document on its own). */
function windowsSentence(w: WindowRecipe | undefined): string[] {
  const repeats = w?.repeats;
  const range = ([min, max]: readonly [number, number]) => (min === max ? `${min}` : `${min}-${max}`);
  const drills = w?.drills;
  const drillLines = (what: string) =>
    drills
      ? [
          `${what} for reading back in the context, each cut from random documents: a lead of ${range(drills.leadWords)} words, a`,
          `passage of ${range(drills.passageWords)} words, a gap of ${range(drills.gapWords)} words and the passage again.`,
        ]
      : [];
  if (drills && !drills.amongText) return drillLines('Drills');
  return [
    w?.pack
      ? 'Documents run on from one window into the next (a blank line between them), so windows are full.'
      : 'Each document is cut into windows on its own.',
    ...(repeats && repeats.share > 0
      ? [
          `${Math.round(repeats.share * 100)}% of the windows (seeded) hold a passage of ${range(repeats.passageWords)} words that comes back after`,
          `${range(repeats.gapWords)} more words: a curriculum for reading back in the context, which plain text teaches only after far more tokens.`,
        ]
      : []),
    ...drillLines(`Among them, ${fmt(drills?.count ?? 0)} drills`),
  ];
}

/** In-context copying: whether the backbone reads its context at all, which soft prompts depend on. */
function copySection(copy: CopyProbeResult | undefined, curve: PretrainRecord['copyCurve']): string[] {
  if (!copy) return [];
  return [
    `In-context copying (Olsson et al. 2022): ${copy.spans} held-out spans of ${copy.spanTokens} tokens, each read twice in`,
    `one window. Loss per token at the first reading ${copy.firstNll.toFixed(3)} nats, at the second`,
    `${copy.secondNll.toFixed(3)}: a gain of **${copy.gain.toFixed(3)} nats**. A model that uses its context predicts`,
    'text it has just read far better (pretrained LLMs gain several nats); a gain near 0 means this backbone',
    'does not read back in its context, and a soft prompt, which acts only through the context, cannot steer it.',
    '',
    ...(curve && curve.length > 0
      ? [
          `During training (${curve[0]!.step === curve.at(-1)!.step ? 'once' : `every ${curve[0]!.step} steps`}, on ${PROBE_SPANS_DURING_TRAINING} of the spans):`,
          '',
          '| step | copy gain (nats) |',
          '|---|---|',
          ...curve.map((p) => `| ${p.step} | ${p.gain.toFixed(3)} |`),
          '',
        ]
      : []),
  ];
}

/** The card's section on the shipped meta-prompt, from its run record. */
export function metaPromptSection(meta: RunRecord, packed = false): string[] {
  const settings = meta.settings as { rank?: number; lambda?: number; temperature?: number };
  const sources = meta.tasks ?? [];
  return [
    '## Shipped meta-prompt',
    '',
    `\`${SHIPPED_META_PROMPT}/\` holds a meta-prompt distilled on this backbone (multitask prompt tuning stages 1-2:`,
    `one prompt-tuning teacher per source task, then P* and rank-${settings.rank ?? 1} task factors trained with`,
    `KL + hidden-state distillation, lambda ${settings.lambda ?? 1}, temperature ${settings.temperature ?? 1}) in PEFT's`,
    'MULTITASK_PROMPT_TUNING layout (adapter_config.json + adapter_model.safetensors) with its run record (run.json).',
    `${fmt(meta.trainableParameters)} trainable parameters (${(meta.trainableShare * 100).toFixed(2)}% of the backbone);`,
    `${fmt(meta.steps)} distillation steps in ${hours(meta.wallSeconds)}. \`clinprompt train --method mpt\` (and the demo) adapt it to a new task.`,
    ...(packed
      ? [
          `\`${SHIPPED_META_PROMPT_PACK}\` is the same meta-prompt as a prompt pack signed by ClinPrompt's release key, which every`,
          "workstation trusts: `clinprompt pack import` (or the app's pack import) adds it to a store without `pack keys add`.",
        ]
      : []),
    '',
    '| source task (task id) | train examples | cross-entropy first -> last steps |',
    '|---|---|---|',
    ...sources.map(
      (t, i) =>
        `| ${t.name} (${i}) | ${fmt(t.train)} | ${(t.parts.first['ce'] ?? NaN).toFixed(3)} -> ${(t.parts.last['ce'] ?? NaN).toFixed(3)} |`,
    ),
    '',
  ];
}

/** Writes README.md from the folder's records (and its meta-prompt's, once distilled). */
export function writeModelCard(dir: string, extra: readonly string[] = []): void {
  const record = JSON.parse(readFileSync(path.join(dir, PRETRAINING_RECORD), 'utf8')) as PretrainRecord;
  const meta = readRunRecord(path.join(dir, SHIPPED_META_PROMPT));
  writeFileSync(
    path.join(dir, 'README.md'),
    modelCardText(record, [
      ...(meta ? metaPromptSection(meta, existsSync(path.join(dir, SHIPPED_META_PROMPT_PACK))) : []),
      ...extra,
    ]),
  );
}

export function hasPretrainingRecord(dir: string): boolean {
  return existsSync(path.join(dir, PRETRAINING_RECORD));
}
