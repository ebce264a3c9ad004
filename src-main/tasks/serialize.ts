/**
 * Target serialisation: the text the backbone is trained to generate for each task type
 * (../shared/DESIGN.md section 2). NER: one `mention [SEP] TYPE` per line for each distinct
 * mention, in order of first occurrence, or `none`. RE: `head ; RELATION ; tail` per line, or the
 * label when the pair is given. QA/NLI: the label or answer. Summaries: the text itself.
 */
import type { NerTarget, QaTarget, ReTarget, NliTarget, SummarizationTarget } from './types.js';

export const NONE_ANSWER = 'none';
export const NER_SEPARATOR = '[SEP]';
export const RE_SEPARATOR = ';';

function distinctLines(lines: readonly string[]): string {
  const unique = [...new Set(lines)];
  return unique.length === 0 ? NONE_ANSWER : unique.join('\n');
}

/** One line per distinct (mention text, type), ordered by first occurrence. */
export function serializeNer(target: NerTarget): string {
  const ordered = [...target.entities].sort((a, b) => a.start - b.start || a.end - b.end);
  return distinctLines(ordered.map((e) => `${e.text.replace(/\s+/g, ' ').trim()} ${NER_SEPARATOR} ${e.type}`));
}

export function serializeRe(target: ReTarget): string {
  if (target.label !== undefined) return target.label;
  const ordered = [...target.relations].sort((a, b) => a.head.start - b.head.start || a.tail.start - b.tail.start);
  return distinctLines(
    ordered.map((r) => [r.head.text, r.type, r.tail.text].map((s) => s.replace(/\s+/g, ' ').trim()).join(' ; ')),
  );
}

export const serializeQa = (target: QaTarget): string => target.answer;
export const serializeNli = (target: NliTarget): string => target.label;
export const serializeSummary = (target: SummarizationTarget): string => target.summary.trim();
