/**
 * The model's suggestions in the Label step, as plain logic: which prompt suggests (the last
 * adapted run, the Task step's starting point, or the untrained backbone), which examples to ask
 * about next, and what a `predict` job's answer suggests for an example. The job itself runs in
 * a worker (`labels.suggest`); accepting a suggestion saves it through `labels.add` like any label.
 */
import type {
  LabelItemView,
  NoteResultView,
  NoteRunView,
  SuggestionSource,
  TaskType,
} from '../../../src-main/ipc/contract.js';

export type Suggestion =
  | { readonly kind: 'label'; readonly label: string }
  | { readonly kind: 'spans'; readonly spans: readonly { label: string; start: number; end: number }[] }
  | { readonly kind: 'summary'; readonly text: string };

/** Accept and reject keys; kept out of the entity types' letters (labelling.ts). */
export const ACCEPT_KEY = 'a';
export const REJECT_KEY = 'x';

export interface WizardPrompt {
  /** The last adapted run's folder, and whether it was trained on the dataset being labelled. */
  readonly run?: { readonly outDir: string; readonly sameTask: boolean } | undefined;
  readonly start: 'shipped' | 'pack' | 'scratch';
  readonly startPack?: { readonly name: string; readonly version: number } | undefined;
  /** Whether the backbone has a shipped meta-prompt. */
  readonly hasMetaPrompt: boolean;
}

/** The prompt the wizard has so far, and its name in words. */
export function suggestionSource(p: WizardPrompt): { from: SuggestionSource; words: string } {
  if (p.run?.sameTask) return { from: { kind: 'run', run: p.run.outDir }, words: 'the prompt adapted on your labels' };
  if (p.start === 'pack' && p.startPack)
    return {
      from: { kind: 'pack', ...p.startPack },
      words: `the pack ${p.startPack.name} (version ${p.startPack.version}), not yet adapted`,
    };
  if (p.start === 'shipped' && p.hasMetaPrompt)
    return { from: { kind: 'shipped' }, words: 'the shipped meta-prompt, not yet adapted' };
  return { from: { kind: 'none' }, words: 'the backbone without a prompt' };
}

/** Up to `n` examples to ask about next: unlabelled, from the one shown onwards, not asked before. */
export function toSuggest(
  items: readonly LabelItemView[],
  at: number,
  asked: ReadonlySet<number>,
  n: number,
): number[] {
  return items
    .slice(Math.max(0, at))
    .filter((i) => i.marks.length === 0 && !asked.has(i.exampleId))
    .slice(0, n)
    .map((i) => i.exampleId);
}

/** What one answer suggests for its example, or undefined when it suggests nothing it could take. */
export function suggestionOf(type: TaskType, item: LabelItemView, result: NoteResultView): Suggestion | undefined {
  if (!result.ok) return undefined;
  if (type === 'ner') {
    const spans = (result.entities ?? [])
      .filter((e) => e.start >= 0 && e.end > e.start && e.end <= item.text.length && item.choices.includes(e.type))
      .filter((e) => !item.marks.some((m) => m.start !== null && m.end !== null && m.start < e.end && e.start < m.end))
      .map((e) => ({ label: e.type, start: e.start, end: e.end }));
    return spans.length > 0 ? { kind: 'spans', spans } : undefined;
  }
  const answer = result.answer?.trim() ?? '';
  if (type === 'summarization') return answer === '' ? undefined : { kind: 'summary', text: answer };
  return item.choices.includes(answer) ? { kind: 'label', label: answer } : undefined;
}

/** A finished job's suggestions by example id (the job ran each example under its id). */
export function suggestionsFrom(
  type: TaskType,
  items: readonly LabelItemView[],
  run: NoteRunView,
): Map<number, Suggestion> {
  const byId = new Map(items.map((i) => [String(i.exampleId), i]));
  const out = new Map<number, Suggestion>();
  for (const result of run.results) {
    const item = byId.get(result.id);
    const suggestion = item && suggestionOf(type, item, result);
    if (item && suggestion) out.set(item.exampleId, suggestion);
  }
  return out;
}

/** The suggestion in words, with the suggested words of the note for spans. */
export function describeSuggestion(s: Suggestion, text: string): string {
  if (s.kind === 'label') return s.label;
  if (s.kind === 'summary') return s.text;
  return s.spans.map((x) => `${x.label} "${text.slice(x.start, x.end)}"`).join('; ');
}
