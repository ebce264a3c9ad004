/**
 * The five task types of ClinPrompt and the plain values each one's examples carry
 * (../shared/DESIGN.md section 2). Importers produce these, templates frame them as text, parsers
 * turn generated text back into them, and metrics compare them. No tensors, no store.
 */

import type { Split, TaskType } from '../common/vocabulary.js';

export { SPLITS, TASK_TYPES, isTaskType, type Split, type TaskType } from '../common/vocabulary.js';

/** A half-open character range [start, end) into a note's text. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A typed mention. `start`/`end` cover all fragments; `fragments` is set only for discontinuous mentions. */
export interface Entity extends Span {
  readonly type: string;
  readonly text: string;
  readonly fragments?: readonly Span[];
  /** The source annotation's id (e.g. BRAT `T3`), kept so relations and exports can refer to it. */
  readonly id?: string;
  readonly attributes?: Readonly<Record<string, string>>;
  /** Normalisations such as `MESH:D003920`. */
  readonly references?: readonly string[];
}

export interface Relation {
  readonly type: string;
  readonly head: Entity;
  readonly tail: Entity;
  readonly id?: string;
  /** Extra columns a source gives a relation (e.g. PubTator's novelty flag: `novelty` -> `Novel`). */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A BRAT event, kept so that labels made in the app can leave it unchanged (events flatten to relations for RE). */
export interface EventAnnotation {
  readonly id: string;
  readonly type: string;
  readonly trigger: Entity;
  readonly args: readonly { readonly role: string; readonly ref: string }[];
}

export interface NerInput {
  readonly text: string;
}
export interface NerTarget {
  readonly entities: readonly Entity[];
}

/** RE either over a whole text (all relations) or for one given entity pair (a label). */
export interface ReInput {
  readonly text: string;
  readonly pair?: { readonly head: string; readonly tail: string };
}
export interface ReTarget {
  readonly relations: readonly Relation[];
  readonly entities?: readonly Entity[];
  readonly events?: readonly EventAnnotation[];
  /** Set when the pair is given: the relation label, or the dataset's negative label. */
  readonly label?: string;
}

export type QaKind = 'multiple-choice' | 'yes-no-maybe' | 'free';
export interface QaInput {
  readonly question: string;
  readonly context?: string;
  readonly options?: readonly string[];
  readonly kind: QaKind;
}
export interface QaTarget {
  /** An option letter (A, B, ...), yes/no/maybe, or the free answer. */
  readonly answer: string;
}

export interface NliInput {
  readonly premise: string;
  readonly hypothesis: string;
}
export interface NliTarget {
  readonly label: string;
}

export interface SummarizationInput {
  readonly source: string;
}
export interface SummarizationTarget {
  readonly summary: string;
}

export interface TaskValues {
  ner: { input: NerInput; target: NerTarget };
  re: { input: ReInput; target: ReTarget };
  qa: { input: QaInput; target: QaTarget };
  nli: { input: NliInput; target: NliTarget };
  summarization: { input: SummarizationInput; target: SummarizationTarget };
}
export type TaskInput<T extends TaskType = TaskType> = TaskValues[T]['input'];
export type TaskTarget<T extends TaskType = TaskType> = TaskValues[T]['target'];

/**
 * One example as importers emit it and the store keeps it. `target` is null for unlabelled notes
 * (a folder of notes to run prompts over). `labels` are what the class-balance report counts:
 * entity types, relation types, the answer or NLI label; empty for summaries.
 */
export interface Example<T extends TaskType = TaskType> {
  readonly split: Split;
  readonly externalId?: string;
  readonly input: TaskInput<T>;
  readonly target: TaskTarget<T> | null;
  readonly labels: readonly string[];
}
