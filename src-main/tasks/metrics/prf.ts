/** Precision, recall and F1 from true-positive, predicted and gold counts (0 where undefined). */
export interface Counts {
  readonly tp: number;
  readonly predicted: number;
  readonly gold: number;
}

export interface Prf extends Counts {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export function prf(counts: Counts): Prf {
  const precision = counts.predicted === 0 ? 0 : counts.tp / counts.predicted;
  const recall = counts.gold === 0 ? 0 : counts.tp / counts.gold;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { ...counts, precision, recall, f1 };
}

export function addCounts(a: Counts, b: Counts): Counts {
  return { tp: a.tp + b.tp, predicted: a.predicted + b.predicted, gold: a.gold + b.gold };
}

export const ZERO_COUNTS: Counts = { tp: 0, predicted: 0, gold: 0 };

/** Micro scores and a per-type breakdown from per-type counts. */
export interface TypedPrf {
  readonly micro: Prf;
  readonly perType: Readonly<Record<string, Prf>>;
}

export function typedPrf(perType: ReadonlyMap<string, Counts>): TypedPrf {
  let total = ZERO_COUNTS;
  const breakdown: Record<string, Prf> = {};
  for (const [type, counts] of [...perType].sort(([a], [b]) => a.localeCompare(b))) {
    total = addCounts(total, counts);
    breakdown[type] = prf(counts);
  }
  return { micro: prf(total), perType: breakdown };
}

export function addTo(map: Map<string, Counts>, type: string, counts: Partial<Counts>): void {
  const current = map.get(type) ?? ZERO_COUNTS;
  map.set(type, {
    tp: current.tp + (counts.tp ?? 0),
    predicted: current.predicted + (counts.predicted ?? 0),
    gold: current.gold + (counts.gold ?? 0),
  });
}
