/**
 * The training methods by name, each a folder with its config schema and its model (PEFT's layout:
 * tuners/<method>/{config,model}.py registered in peft_types.py). The registry checks itself when
 * loaded: names are lower-case and unique. The CLI's --method, the IPC contract and the wizard's
 * method choice all read METHOD_NAMES and each method's schema (defaults and help text).
 */
import type { z } from 'zod';

import { UserError } from '../common/errors.js';
import { FullConfigSchema } from './full/config.js';
import { fullFineTuning } from './full/model.js';
import { LoraConfigSchema } from './lora/config.js';
import { lora } from './lora/model.js';
import type { MethodContext, MethodInstance } from './method.js';
import { MptAdaptConfigSchema, MptDistillConfigSchema } from './mpt/config.js';
import { mptAdapt, mptDistill } from './mpt/model.js';
import { PromptTuningConfigSchema } from './prompt-tuning/config.js';
import { promptTuning } from './prompt-tuning/model.js';

interface MethodEntry<S extends z.ZodType> {
  readonly title: string;
  readonly summary: string;
  readonly schema: S;
  create(ctx: MethodContext, config: z.infer<S>): MethodInstance;
}

function entry<S extends z.ZodType>(e: MethodEntry<S>): MethodEntry<S> {
  return e;
}

export const METHODS = {
  pt: entry({
    title: 'Prompt tuning',
    summary: 'trains L virtual-token embeddings before the input; the backbone stays frozen',
    schema: PromptTuningConfigSchema,
    create: promptTuning,
  }),
  lora: entry({
    title: 'LoRA',
    summary: 'trains low-rank updates B A of chosen linear layers; the backbone stays frozen',
    schema: LoraConfigSchema,
    create: lora,
  }),
  mpt: entry({
    title: 'Multitask prompt tuning (adaptation)',
    summary: 'adapts a distilled meta-prompt P* and a rank-r task update u v to the task (stage 3)',
    schema: MptAdaptConfigSchema,
    create: mptAdapt,
  }),
  'mpt-distill': entry({
    title: 'Multitask prompt distillation',
    summary: 'distils source-task teachers into one meta-prompt and rank-r task updates (stage 2)',
    schema: MptDistillConfigSchema,
    create: mptDistill,
  }),
  full: entry({
    title: 'Full fine-tuning',
    summary: 'trains every weight of the backbone (the upper baseline; needs the most memory)',
    schema: FullConfigSchema,
    create: fullFineTuning,
  }),
} as const;

export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

for (const name of METHOD_NAMES)
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`peft method name ${name} must be lower-case (a-z, 0-9, -)`);

export function isMethodName(value: string): value is MethodName {
  return Object.hasOwn(METHODS, value);
}

/**
 * Builds a method from its name and raw settings; a setting out of range is refused naming it
 * (`settingName` turns a schema key into the front end's words: a CLI flag or a field label).
 */
export function createMethod(
  name: string,
  settings: Record<string, unknown>,
  ctx: MethodContext,
  settingName: (key: string) => string = (k) => k,
): MethodInstance {
  if (!isMethodName(name))
    throw new UserError('INVALID_ARGUMENT', `Unknown method "${name}". Choose one of: ${METHOD_NAMES.join(', ')}.`);
  const entry = METHODS[name] as MethodEntry<z.ZodType>;
  const parsed = entry.schema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new UserError('INVALID_ARGUMENT', `${entry.title}: ${key ? `${settingName(key)}: ` : ''}${issue.message}`);
  }
  return entry.create(ctx, parsed.data);
}
