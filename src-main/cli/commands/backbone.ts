/**
 * `clinprompt backbone info|convert`, `clinprompt generate --backbone <dir> --prompt "..."` and
 * `clinprompt score --backbone <dir> --prompt "..." --candidate " a" --candidate " b"`. Thin: the
 * work is in services/backbone.ts.
 */
import { InvalidArgumentError } from 'commander';

import { backboneOrDefault } from '../../backbone/embedded.js';
import type { ExecutionProvider } from '../../backbone/memory-plan.js';
import { EXECUTION_PROVIDERS } from '../../common/vocabulary.js';
import { formatBytes } from '../../backbone/memory-plan.js';
import type { ProviderChoice } from '../../engine/session.js';
import {
  backboneInfo,
  convertBackbone,
  DEFAULT_MAX_TOKENS,
  generateText,
  scoreCandidates,
} from '../../services/backbone.js';
import type { RegisterCommands } from '../context.js';
import { storePacks } from './packs.js';
import { formatTable } from '../output.js';
import { collect, nonNegativeInt, nonNegativeNumber, positiveInt, provider, PROVIDERS } from '../options.js';

interface GenerateFlags {
  backbone?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  stop: string[];
  threads?: number;
  provider: ProviderChoice;
  chat?: boolean;
  adapter?: string;
  taskId?: number;
}

function estimateProvider(value: string): ExecutionProvider {
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
  return value as ExecutionProvider;
}

export const registerBackboneCommands: RegisterCommands = (program, context) => {
  const backbone = program
    .command('backbone')
    .description('Inspect and convert backbone model folders (Hugging Face or llama2.c)');
  backbone
    .command('info [dir]')
    .description('Show architecture, parameters, dtype, fingerprint and memory estimate of a backbone folder')
    .option(
      '--context <tokens>',
      'context length for the memory estimate (default: 2048, capped at the model maximum)',
      positiveInt,
    )
    .option(
      '--provider <name>',
      `execution provider for the memory estimate: ${EXECUTION_PROVIDERS.join(', ')}`,
      estimateProvider,
      'cpu',
    )
    .action((dir: string | undefined, opts: { context?: number; provider: ExecutionProvider }) => {
      const info = backboneInfo({
        backbone: backboneOrDefault(dir),
        provider: opts.provider,
        ...(opts.context !== undefined && { contextTokens: opts.context }),
      });
      context.output.result(info, (i) => {
        const p = i.memory.plan;
        const rows: [string, string][] = [
          ['folder', i.folder],
          ['format', i.format],
          ['architecture', i.architecture],
          ['parameters', i.parameters.toLocaleString('en-US')],
          ['weight dtype', i.weightDType],
          ['layers', String(i.layers)],
          ['hidden / intermediate', `${i.hiddenSize} / ${i.intermediateSize}`],
          ['heads / kv heads / head dim', `${i.heads} / ${i.kvHeads} / ${i.headDim}`],
          ['vocabulary', String(i.vocabSize)],
          ['max positions', String(i.maxPositions)],
          ['rope scaling', i.ropeScaling],
          ['tied embeddings', i.tiedEmbeddings ? 'yes' : 'no'],
          ['safetensors files', String(i.safetensorsFiles)],
          ['fingerprint', i.fingerprint],
          [
            `inference (${i.memory.provider}, ${i.memory.contextTokens} tokens)`,
            `${formatBytes(p.totalBytes)} = weights ${formatBytes(p.weightsBytes)} + activations ${formatBytes(p.activationBytes)} + KV cache ${formatBytes(p.kvCacheBytes)} + margin ${formatBytes(p.overheadBytes)}`,
          ],
          [
            `training (${i.memory.provider}, ${i.memory.contextTokens} tokens)`,
            `${formatBytes(i.memory.training.totalBytes)} (${i.memory.training.computeDType})`,
          ],
          ['available now', formatBytes(i.availableBytes)],
        ];
        return formatTable(['', ''], rows).split('\n').slice(2).join('\n');
      });
    });

  backbone
    .command('convert <llama2c-dir> <out-dir>')
    .description(
      'Convert a llama2.c folder (model .bin + tok*.bin) into a Hugging Face folder (config.json, model.safetensors, tokenizer.json)',
    )
    .action((src: string, dest: string) => {
      context.output.result(
        convertBackbone(src, dest),
        (r) => `Wrote ${r.folder} (llama, ${r.config.numLayers} layers, vocabulary ${r.config.vocabSize}).`,
      );
    });

  program
    .command('generate')
    .description('Generate text from a prompt with a backbone (greedy by default)')
    .option(
      '--backbone <dir>',
      'backbone folder: Hugging Face (config.json, *.safetensors, tokenizer.json) or llama2.c (model .bin + tok*.bin); default: the embedded backbone',
    )
    .requiredOption('--prompt <text>', 'the text to continue')
    .option(
      '--max-tokens <n>',
      `new tokens at most (capped by the model's context length)`,
      positiveInt,
      DEFAULT_MAX_TOKENS,
    )
    .option('--temperature <t>', '0 = greedy; above 0 samples from softmax(logits / t)', nonNegativeNumber, 0)
    .option('--top-p <p>', 'nucleus sampling threshold in (0, 1], with --temperature > 0', nonNegativeNumber, 0.9)
    .option('--seed <n>', 'random seed for sampling', nonNegativeInt, 42)
    .option('--stop <text>', 'stop before this text (repeatable)', collect, [])
    .option('--threads <n>', 'CPU threads (default: onnxruntime chooses)', positiveInt)
    .option(
      '--provider <name>',
      `execution provider: ${PROVIDERS.join(', ')} (auto: the best this machine has)`,
      provider,
      'cpu',
    )
    .option('--chat', "wrap the prompt as one user message with the model's chat template (tokenizer_config.json)")
    .option(
      '--adapter <dir|file.cpack|pack:name>',
      'a run folder (clinprompt train --out), PEFT adapter folder, trusted prompt pack file, or pack:<name>[@version] from the store: prompt tuning, multitask prompt tuning, LoRA or full fine-tuning',
    )
    .option('--task-id <n>', 'which task of a multitask prompt-tuning adapter (default 0)', nonNegativeInt)
    .action(async (flags: GenerateFlags) => {
      const out = context.output;
      const result = await generateText({
        backbone: backboneOrDefault(flags.backbone),
        prompt: flags.prompt,
        maxTokens: flags.maxTokens,
        temperature: flags.temperature,
        topP: flags.topP,
        seed: flags.seed,
        stop: flags.stop,
        provider: flags.provider,
        ...(flags.chat !== undefined && { chat: flags.chat }),
        ...(flags.adapter !== undefined && { adapter: flags.adapter, packs: () => storePacks(context) }),
        ...(flags.taskId !== undefined && { taskId: flags.taskId }),
        ...(flags.threads !== undefined && { threads: flags.threads }),
      });
      out.note(
        `${result.promptTokens} prompt tokens, ${result.tokens.length} generated (${result.stoppedBy}), ` +
          `${result.tokensPerSecond.toFixed(1)} tokens/s on ${result.provider}`,
      );
      out.result(result, (r) => r.prompt + r.text);
    });

  program
    .command('score')
    .description('Log-likelihood of each candidate continuation after a prompt, in one batch (closed-label scoring)')
    .option('--backbone <dir>', 'backbone folder, Hugging Face or llama2.c (default: the embedded backbone)')
    .requiredOption('--prompt <text>', 'the text the candidates continue')
    .requiredOption(
      '--candidate <text>',
      'a continuation to score (repeat for each; include its leading space)',
      collect,
      [],
    )
    .option(
      '--adapter <dir|file.cpack|pack:name>',
      'a run folder (clinprompt train --out), PEFT adapter folder, trusted prompt pack file, or pack:<name>[@version] from the store to apply',
    )
    .option('--task-id <n>', 'which task of a multitask prompt-tuning adapter (default 0)', nonNegativeInt)
    .option('--threads <n>', 'CPU threads (default: onnxruntime chooses)', positiveInt)
    .action(
      async (flags: {
        backbone?: string;
        prompt: string;
        candidate: string[];
        adapter?: string;
        taskId?: number;
        threads?: number;
      }) => {
        const rows = await scoreCandidates({
          backbone: backboneOrDefault(flags.backbone),
          prompt: flags.prompt,
          candidates: flags.candidate,
          ...(flags.adapter !== undefined && { adapter: flags.adapter, packs: () => storePacks(context) }),
          ...(flags.taskId !== undefined && { taskId: flags.taskId }),
          ...(flags.threads !== undefined && { threads: flags.threads }),
        });
        context.output.result(rows, (r) =>
          formatTable(
            ['candidate', 'log-likelihood'],
            r.map((x) => [JSON.stringify(x.candidate), x.logLikelihood.toFixed(4)]),
          ),
        );
      },
    );
};
