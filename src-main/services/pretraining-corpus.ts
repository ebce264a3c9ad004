/**
 * The embedded backbone's pretraining text: the public clinical transcriptions of
 * ../shared/data/corpus/mtsamples.txt plus the text of the TRAIN splits of the catalogue's source
 * datasets (never dev or test, so that evaluating on them stays honest). One document in 50 of the
 * transcriptions is held out for perplexity. Everything is a function of the files: the same data
 * gives the same documents in the same order.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { SourceTask } from '../data/catalogue.js';
import { SOURCE_TASKS } from '../data/catalogue.js';
import { readDataset } from '../data/read-dataset.js';
import type { Example } from '../tasks/types.js';

export const TRANSCRIPTIONS_FILE = 'corpus/mtsamples.txt';
/** Every HELD_OUT_EVERY-th transcription is held out. */
const HELD_OUT_EVERY = 50;

export interface PretrainingCorpus {
  readonly train: readonly string[];
  readonly heldOut: readonly string[];
  /** Documents and characters per source, for the model card. */
  readonly sources: readonly { name: string; documents: number; characters: number }[];
}

/** The running texts of an example's input (and reference summary): what a reader of the note sees. */
export function exampleTexts(e: Example): string[] {
  const input = e.input as unknown as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of ['text', 'context', 'question', 'premise', 'hypothesis', 'source'])
    if (typeof input[key] === 'string') parts.push(input[key]);
  if (Array.isArray(input['options'])) parts.push((input['options'] as string[]).join('\n'));
  const summary = (e.target as { summary?: unknown } | null)?.summary;
  if (typeof summary === 'string') parts.push(summary);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Transcriptions are separated by blank lines. */
function transcriptions(sharedDataDir: string): string[] {
  return readFileSync(path.join(sharedDataDir, TRANSCRIPTIONS_FILE), 'utf8')
    .split(/\n\s*\n/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

export async function pretrainingCorpus(
  sharedDataDir: string,
  datasets: readonly SourceTask[] = SOURCE_TASKS,
): Promise<PretrainingCorpus> {
  const train: string[] = [];
  const heldOut: string[] = [];
  const sources: { name: string; documents: number; characters: number }[] = [];
  const docs = transcriptions(sharedDataDir);
  docs.forEach((d, i) => (i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1 ? heldOut : train).push(d));
  sources.push({
    name: 'mtsamples',
    documents: docs.length - heldOut.length,
    characters: train.reduce((n, d) => n + d.length, 0),
  });
  // datasets repeat texts (DDI's RE and NER views; one trial report behind many NLI4CT statements)
  const seen = new Set<string>();
  for (const entry of datasets) {
    const read = await readDataset(entry.format, path.join(sharedDataDir, entry.path), {
      task: entry.task,
      ...(entry.mapping !== undefined && { mapping: entry.mapping }),
      ...(entry.drawSplits && { drawSplits: true }),
    });
    let documents = 0;
    let characters = 0;
    for (const e of read.examples) {
      if (e.split !== 'train') continue;
      const fresh = exampleTexts(e).filter((p) => !seen.has(p));
      if (fresh.length === 0) continue;
      for (const p of fresh) seen.add(p);
      const text = fresh.join('\n');
      train.push(text);
      documents++;
      characters += text.length;
    }
    sources.push({ name: entry.name, documents, characters });
  }
  return { train, heldOut, sources };
}
