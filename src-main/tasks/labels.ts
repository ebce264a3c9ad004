/**
 * Matching generated label text to a task's label set, tolerant of what small models write:
 * case, surrounding punctuation and whitespace, underscores/hyphens, and near misses
 * (a typo within a small edit distance, e.g. "Diseas" -> "Disease"). Ambiguous near misses do
 * not match: an output that could be two labels is wrong, not a guess.
 */

/** Lower case, `_`/`-` as spaces, collapsed whitespace, no surrounding punctuation or quotes. */
export function normalizeLabelText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[_-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[\s"'`*.:;,()[\]{}<>]+|[\s"'`*.:;,()[\]{}<>]+$/g, '');
}

/** Levenshtein distance (insertions, deletions, substitutions), two-row dynamic programme. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Edits allowed for a near miss: about one per four characters, at least one. */
function allowedEdits(label: string): number {
  return Math.max(1, Math.floor(label.length / 4));
}

/**
 * The label of `labels` that `raw` names, or undefined. Exact (normalised) matches win; then the
 * longest label that the text starts with ("entailment because ..."); then a unique nearest label
 * within the allowed edit distance.
 */
export function matchLabel(raw: string, labels: readonly string[]): string | undefined {
  const text = normalizeLabelText(raw);
  if (text === '') return undefined;
  const normalized = labels.map((label) => normalizeLabelText(label));
  const exact = normalized.indexOf(text);
  if (exact >= 0) return labels[exact];

  // The longest label the text starts with ("no significant difference, p = 0.4" is not "no").
  const prefixed = labels
    .map((label, i) => ({ label, n: normalized[i] ?? '' }))
    .filter(({ n }) => text.startsWith(`${n} `) || text.startsWith(`${n}:`) || text.startsWith(`${n},`))
    .sort((a, b) => b.n.length - a.n.length);
  if (prefixed.length > 0 && (prefixed.length === 1 || (prefixed[0]?.n.length ?? 0) > (prefixed[1]?.n.length ?? 0))) {
    return prefixed[0]?.label;
  }

  let best: string | undefined;
  let bestDistance = Infinity;
  let tie = false;
  labels.forEach((label, i) => {
    const n = normalized[i] ?? '';
    const distance = editDistance(text, n);
    if (distance > allowedEdits(n)) return;
    if (distance < bestDistance) {
      best = label;
      bestDistance = distance;
      tie = false;
    } else if (distance === bestDistance) {
      tie = true;
    }
  });
  return tie ? undefined : best;
}
