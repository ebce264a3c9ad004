/**
 * The task registry: for each of the five task types, its default instruction template (editable
 * per task), how an example's fields fill it, how its target is serialised, how a generated
 * answer is parsed back, and which candidates closed-label scoring compares
 * (../shared/DESIGN.md section 2).
 */
import { optionLetter, parseFreeText, parseLabel, parseNer, parseOptionAnswer, parseRe, type Parsed } from './parse.js';
import { serializeNer, serializeNli, serializeQa, serializeRe, serializeSummary } from './serialize.js';
import { renderTemplate, validateTemplate, type TemplateFields } from './templates.js';
import type { TaskInput, TaskTarget, TaskType, QaInput } from './types.js';

export const YES_NO_MAYBE = ['yes', 'no', 'maybe'] as const;

export interface TaskDefinition<T extends TaskType> {
  readonly type: T;
  readonly title: string;
  readonly defaultTemplate: string;
  /** Fields a template must use, and all fields it may use. */
  readonly requiredFields: readonly string[];
  readonly knownFields: readonly string[];
  fields(input: TaskInput<T>, labels: readonly string[]): TemplateFields;
  serializeTarget(target: TaskTarget<T>): string;
  parse(output: string, input: TaskInput<T>, labels: readonly string[]): Parsed<unknown>;
  /** The candidate answers for closed-label scoring, or undefined when the answer is free text. */
  closedLabels(input: TaskInput<T>, labels: readonly string[]): readonly string[] | undefined;
}

const ner: TaskDefinition<'ner'> = {
  type: 'ner',
  title: 'Named entity recognition',
  defaultTemplate:
    'Find every mention of these types in the clinical text: {{labels}}.\n' +
    'Write one line per mention as: mention [SEP] TYPE. Write none if there is no mention.\n\n' +
    'Text: {{text}}\n\nAnswer:',
  requiredFields: ['text'],
  knownFields: ['text', 'labels'],
  fields: (input, labels) => ({ text: input.text, labels: labels.join(', ') }),
  serializeTarget: serializeNer,
  parse: (output, input, labels) => parseNer(output, input.text, labels),
  closedLabels: () => undefined,
};

const re: TaskDefinition<'re'> = {
  type: 're',
  title: 'Relation extraction',
  defaultTemplate:
    '{{#head}}Which relation ({{labels}}) does the text state between "{{head}}" and "{{tail}}"? ' +
    'Answer with the relation only.{{/head}}' +
    '{{#document}}List every relation ({{labels}}) the text states, one per line as: head ; RELATION ; tail. ' +
    'Write none if there is none.{{/document}}\n\nText: {{text}}\n\nAnswer:',
  requiredFields: ['text'],
  knownFields: ['text', 'labels', 'head', 'tail', 'document'],
  fields: (input, labels) => ({
    text: input.text,
    labels: labels.join(', '),
    head: input.pair?.head,
    tail: input.pair?.tail,
    document: input.pair ? undefined : 'yes',
  }),
  serializeTarget: serializeRe,
  parse: (output, input, labels) => (input.pair ? parseLabel(output, labels) : parseRe(output, input.text, labels)),
  closedLabels: (input, labels) => (input.pair ? labels : undefined),
};

/** A multiple-choice question's options as the prompt and the app show them: one lettered line each. */
export function qaOptions(input: Pick<QaInput, 'options'>): string | undefined {
  return input.options?.map((option, i) => `${optionLetter(i)}. ${option}`).join('\n');
}

const qa: TaskDefinition<'qa'> = {
  type: 'qa',
  title: 'Question answering',
  defaultTemplate:
    '{{#context}}Context: {{context}}\n\n{{/context}}Question: {{question}}\n' +
    '{{#options}}Options:\n{{options}}\nAnswer with the letter of the correct option.\n{{/options}}' +
    '{{#yesnomaybe}}Answer with yes, no or maybe.\n{{/yesnomaybe}}Answer:',
  requiredFields: ['question'],
  knownFields: ['question', 'context', 'options', 'yesnomaybe'],
  fields: (input) => ({
    question: input.question,
    context: input.context,
    options: qaOptions(input),
    yesnomaybe: input.kind === 'yes-no-maybe' ? 'yes' : undefined,
  }),
  serializeTarget: serializeQa,
  parse: (output, input, labels) => {
    if (input.kind === 'multiple-choice') return parseOptionAnswer(output, input.options ?? []);
    if (input.kind === 'yes-no-maybe') return parseLabel(output, labels.length > 0 ? labels : YES_NO_MAYBE);
    return parseFreeText(output);
  },
  closedLabels: (input, labels) => {
    if (input.kind === 'multiple-choice') return (input.options ?? []).map((_, i) => optionLetter(i));
    if (input.kind === 'yes-no-maybe') return labels.length > 0 ? labels : YES_NO_MAYBE;
    return undefined;
  },
};

const nli: TaskDefinition<'nli'> = {
  type: 'nli',
  title: 'Natural language inference',
  defaultTemplate:
    'Premise: {{premise}}\nHypothesis: {{hypothesis}}\n' +
    'What does the premise say about the hypothesis? Answer with one of: {{labels}}.\nAnswer:',
  requiredFields: ['premise', 'hypothesis'],
  knownFields: ['premise', 'hypothesis', 'labels'],
  fields: (input, labels) => ({ premise: input.premise, hypothesis: input.hypothesis, labels: labels.join(', ') }),
  serializeTarget: serializeNli,
  parse: (output, _input, labels) => parseLabel(output, labels),
  closedLabels: (_input, labels) => labels,
};

const summarization: TaskDefinition<'summarization'> = {
  type: 'summarization',
  title: 'Summarization',
  defaultTemplate: 'Summarize the following text briefly and faithfully.\n\nText: {{source}}\n\nSummary:',
  requiredFields: ['source'],
  knownFields: ['source'],
  fields: (input) => ({ source: input.source }),
  serializeTarget: serializeSummary,
  parse: (output) => parseFreeText(output),
  closedLabels: () => undefined,
};

export const TASKS: { readonly [T in TaskType]: TaskDefinition<T> } = { ner, re, qa, nli, summarization };

export function taskDefinition<T extends TaskType>(type: T): TaskDefinition<T> {
  return TASKS[type];
}

/** How one task is set up: its type, label set and (optionally edited) template. */
export interface TaskConfig<T extends TaskType = TaskType> {
  readonly type: T;
  readonly labels: readonly string[];
  readonly template?: string;
}

export interface FramedExample {
  readonly prompt: string;
  /** The serialised target, preceded by a space so it reads as a continuation of `Answer:`. */
  readonly target: string;
}

/** The template in use for a task, checked when it was edited. */
export function templateFor<T extends TaskType>(config: TaskConfig<T>): string {
  const definition = taskDefinition(config.type);
  if (config.template === undefined) return definition.defaultTemplate;
  validateTemplate(definition.title, config.template, definition.requiredFields, definition.knownFields);
  return config.template;
}

export function framePrompt<T extends TaskType>(config: TaskConfig<T>, input: TaskInput<T>): string {
  return renderTemplate(templateFor(config), taskDefinition(config.type).fields(input, config.labels));
}

export function frameExample<T extends TaskType>(
  config: TaskConfig<T>,
  input: TaskInput<T>,
  target: TaskTarget<T>,
): FramedExample {
  return { prompt: framePrompt(config, input), target: ` ${taskDefinition(config.type).serializeTarget(target)}` };
}

export function parseOutput<T extends TaskType>(
  config: TaskConfig<T>,
  output: string,
  input: TaskInput<T>,
): Parsed<unknown> {
  return taskDefinition(config.type).parse(output, input, config.labels);
}
