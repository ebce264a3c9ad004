/** Writes a synthetic NLI JSONL file of `rows` rows (~330 bytes each, all inputs distinct), streaming with backpressure. */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

const WORDS = [
  'patient',
  'reports',
  'chest',
  'pain',
  'since',
  'morning',
  'denies',
  'fever',
  'history',
  'of',
  'type',
  'two',
  'diabetes',
  'on',
  'metformin',
  'blood',
  'pressure',
  'stable',
];

export function syntheticRow(i: number, label = i % 3 === 0 ? 'Entailment' : 'Contradiction'): string {
  const words: string[] = [];
  for (let k = 0, x = i + 1; k < 36; k++, x = (x * 1103515245 + 12345) % 2 ** 31) words.push(WORDS[x % WORDS.length]!);
  return `${JSON.stringify({ id: `r${i}`, premise: `Note ${i}: ${words.join(' ')}.`, hypothesis: `The patient ${words[3]}.`, label })}\n`;
}

export async function writeSyntheticJsonl(file: string, rows: number, tail = ''): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < rows; i++) if (!out.write(syntheticRow(i))) await once(out, 'drain');
  out.end(tail);
  await once(out, 'finish');
}
