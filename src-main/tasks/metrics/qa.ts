/**
 * Free-text answer scores as in SQuAD's official evaluation script (Rajpurkar et al., 2016,
 * evaluate-v1.1.py): answers are normalised (lower case, punctuation and the articles a/an/the
 * removed, whitespace collapsed); exact match compares the normalised strings, token F1 the bags
 * of tokens. With several gold answers the best one counts.
 */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function exactMatch(predicted: string, gold: string | readonly string[]): number {
  const golds = typeof gold === 'string' ? [gold] : gold;
  return golds.some((g) => normalizeAnswer(g) === normalizeAnswer(predicted)) ? 1 : 0;
}

function tokenF1One(predicted: string, gold: string): number {
  const p = normalizeAnswer(predicted).split(' ').filter(Boolean);
  const g = normalizeAnswer(gold).split(' ').filter(Boolean);
  if (p.length === 0 || g.length === 0) return p.length === g.length ? 1 : 0;
  const remaining = new Map<string, number>();
  for (const t of g) remaining.set(t, (remaining.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const left = remaining.get(t) ?? 0;
    if (left > 0) {
      common++;
      remaining.set(t, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / g.length;
  return (2 * precision * recall) / (precision + recall);
}

export function tokenF1(predicted: string, gold: string | readonly string[]): number {
  const golds = typeof gold === 'string' ? [gold] : gold;
  return Math.max(0, ...golds.map((g) => tokenF1One(predicted, g)));
}

export interface FreeAnswerScores {
  readonly n: number;
  readonly exactMatch: number;
  readonly tokenF1: number;
}

export function freeAnswerScores(
  pairs: readonly { predicted: string | null; gold: string | readonly string[] }[],
): FreeAnswerScores {
  const n = pairs.length;
  if (n === 0) return { n, exactMatch: 0, tokenF1: 0 };
  let em = 0;
  let f1 = 0;
  for (const { predicted, gold } of pairs) {
    if (predicted === null) continue;
    em += exactMatch(predicted, gold);
    f1 += tokenF1(predicted, gold);
  }
  return { n, exactMatch: em / n, tokenF1: f1 / n };
}
