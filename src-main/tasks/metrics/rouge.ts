/**
 * ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum (Lin, "ROUGE: A Package for Automatic Evaluation of
 * Summaries", ACL workshop 2004), computed the way Google's rouge-score package does
 * (google-research/rouge, the de-facto reference in summarisation papers):
 * - tokens: lower case, every run of characters outside [a-z0-9] is a separator, and with
 *   stemming every token longer than three characters goes through the Porter stemmer;
 * - ROUGE-N: clipped n-gram overlap over the n-gram counts of prediction (precision) and
 *   reference (recall); ROUGE-L: longest common subsequence over the token counts;
 * - ROUGE-Lsum: summary-level LCS, the union LCS of each reference sentence against all
 *   predicted sentences, sentences being lines (paper section 3.2).
 * F is the balanced harmonic mean. Corpus scores are the mean of per-example scores.
 */
import { stemmer } from 'stemmer';

export interface RougeScore {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface RougeScores {
  readonly rouge1: RougeScore;
  readonly rouge2: RougeScore;
  readonly rougeL: RougeScore;
  readonly rougeLsum: RougeScore;
}

export function rougeTokens(text: string, useStemmer = true): string[] {
  const tokens = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .filter((t) => t !== '');
  return useStemmer ? tokens.map((t) => (t.length > 3 ? stemmer(t) : t)) : tokens;
}

function score(hits: number, predicted: number, reference: number): RougeScore {
  const precision = predicted === 0 ? 0 : hits / predicted;
  const recall = reference === 0 ? 0 : hits / reference;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = tokens.slice(i, i + n).join(' ');
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

export function rougeN(reference: readonly string[], predicted: readonly string[], n: number): RougeScore {
  const ref = ngramCounts(reference, n);
  const pred = ngramCounts(predicted, n);
  let hits = 0;
  for (const [gram, count] of pred) hits += Math.min(count, ref.get(gram) ?? 0);
  const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
  return score(hits, total(pred), total(ref));
}

/** LCS length table t[i][j] for the prefixes ref[0..i) and can[0..j). */
function lcsTable(ref: readonly string[], can: readonly string[]): number[][] {
  const t = Array.from({ length: ref.length + 1 }, () => new Array<number>(can.length + 1).fill(0));
  for (let i = 1; i <= ref.length; i++) {
    const row = t[i] as number[];
    const above = t[i - 1] as number[];
    for (let j = 1; j <= can.length; j++) {
      row[j] =
        ref[i - 1] === can[j - 1] ? (above[j - 1] as number) + 1 : Math.max(above[j] as number, row[j - 1] as number);
    }
  }
  return t;
}

/** Indices into `ref` of one LCS, backtracked as rouge-score does (ties move up in `ref`). */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  const indices: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      indices.unshift(i - 1);
      i--;
      j--;
    } else if ((t[i]?.[j - 1] ?? 0) > (t[i - 1]?.[j] ?? 0)) {
      j--;
    } else {
      i--;
    }
  }
  return indices;
}

export function rougeL(reference: readonly string[], predicted: readonly string[]): RougeScore {
  const lcs = lcsTable(reference, predicted)[reference.length]?.[predicted.length] ?? 0;
  return score(lcs, predicted.length, reference.length);
}

/** Summary-level LCS over sentences (one per line), with rouge-score's clipping of token counts. */
export function rougeLsum(reference: readonly string[][], predicted: readonly string[][]): RougeScore {
  const m = reference.reduce((sum, s) => sum + s.length, 0);
  const n = predicted.reduce((sum, s) => sum + s.length, 0);
  if (m === 0 || n === 0) return score(0, n, m);
  const countTokens = (sentences: readonly string[][]) => {
    const counts = new Map<string, number>();
    for (const s of sentences) for (const t of s) counts.set(t, (counts.get(t) ?? 0) + 1);
    return counts;
  };
  const refCounts = countTokens(reference);
  const predCounts = countTokens(predicted);
  let hits = 0;
  for (const sentence of reference) {
    const union = new Set<number>();
    for (const candidate of predicted) for (const i of lcsIndices(sentence, candidate)) union.add(i);
    for (const i of [...union].sort((a, b) => a - b)) {
      const token = sentence[i] as string;
      if ((predCounts.get(token) ?? 0) > 0 && (refCounts.get(token) ?? 0) > 0) {
        hits++;
        predCounts.set(token, (predCounts.get(token) ?? 0) - 1);
        refCounts.set(token, (refCounts.get(token) ?? 0) - 1);
      }
    }
  }
  return score(hits, n, m);
}

function sentences(text: string, useStemmer: boolean): string[][] {
  return text
    .split('\n')
    .map((line) => rougeTokens(line, useStemmer))
    .filter((s) => s.length > 0);
}

/** ROUGE of one prediction against one reference (rouge-score's `score(target, prediction)`). */
export function rouge(reference: string, predicted: string, options: { useStemmer?: boolean } = {}): RougeScores {
  const useStemmer = options.useStemmer ?? true;
  const ref = rougeTokens(reference, useStemmer);
  const pred = rougeTokens(predicted, useStemmer);
  return {
    rouge1: rougeN(ref, pred, 1),
    rouge2: rougeN(ref, pred, 2),
    rougeL: rougeL(ref, pred),
    rougeLsum: rougeLsum(sentences(reference, useStemmer), sentences(predicted, useStemmer)),
  };
}

/** Mean of per-example scores (what rouge-score's aggregator reports as `mid` without resampling). */
export function corpusRouge(
  pairs: readonly { reference: string; predicted: string | null }[],
  options: { useStemmer?: boolean } = {},
): RougeScores {
  const each = pairs.map((p) => rouge(p.reference, p.predicted ?? '', options));
  const mean = (key: keyof RougeScores): RougeScore => {
    const n = Math.max(each.length, 1);
    const sum = (field: keyof RougeScore) => each.reduce((s, e) => s + e[key][field], 0) / n;
    return { precision: sum('precision'), recall: sum('recall'), f1: sum('f1') };
  };
  return { rouge1: mean('rouge1'), rouge2: mean('rouge2'), rougeL: mean('rougeL'), rougeLsum: mean('rougeLsum') };
}
