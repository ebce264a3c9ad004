/**
 * `clinprompt backbone info|convert`, `clinprompt generate --backbone <dir> --prompt "..."` and
 * `clinprompt score --backbone <dir> --prompt "..." --candidate " a" --candidate " b"`.
 */
import { InvalidArgumentError } from 'commander';

import { DEFAULT_MAX_TOKENS, generate } from '../../backbone/generate/decoding.js';
import { BackboneRunner } from '../../backbone/generate/runner.js';
import { scoreContinuations } from '../../backbone/generate/scoring.js';
import { describeBackbone } from '../../backbone/info.js';
import type { Backbone } from '../../backbone/load.js';
import { openBackbone } from '../../backbone/load.js';
import { convertLlama2cFolder } from '../../backbone/llama2c/convert.js';
import type { ExecutionProvider } from '../../backbone/memory-plan.js';
import { formatBytes } from '../../backbone/memory-plan.js';
import { applyChatTemplate } from '../../backbone/tokenizer/chat-template.js';
import type { ProviderChoice } from '../../engine/session.js';
import type { RegisterCommands } from '../context.js';
import { formatTable } from '../output.js';
import { collect, nonNegativeInt, nonNegativeNumber, positiveInt, provider, PROVIDERS } from '../options.js';
import type { PeftAdapter } from '../../peft/adapter-folder.js';
import { openAdapter } from '../../peft/run-folder.js';

/**
 * The backbone to run and the adapter to apply for --adapter (a run folder or a PEFT adapter
 * folder; with --task-id for multitask prompts): a full fine-tuning run brings its own weights.
 */
function withAdapter(
  flags: { adapter?: string; taskId?: number },
  backbone: Backbone,
): { backbone: Backbone; adapter?: PeftAdapter } {
  if (!flags.adapter) return { backbone };
  return openAdapter(flags.adapter, backbone, flags.taskId !== undefined ? { taskId: flags.taskId } : {});
}

interface GenerateFlags {
  backbone: string;
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
  if (!['cpu', 'webgpu', 'cuda', 'dml'].includes(value))
    throw new InvalidArgumentError('must be one of cpu, webgpu, cuda, dml');
  return value as ExecutionProvider;
}

export const registerBackboneCommands: RegisterCommands = (program, context) => {
  const backbone = program
    .command('backbone')
    .description('Inspect and convert backbone model folders (Hugging Face or llama2.c)');
  backbone
    .command('info <dir>')
    .description('Show architecture, parameters, dtype, fingerprint and memory estimate of a backbone folder')
    .option(
      '--context <tokens>',
      'context length for the memory estimate (default: 2048, capped at the model maximum)',
      positiveInt,
    )
    .option(
      '--provider <name>',
      'execution provider for the memory estimate: cpu, webgpu, cuda, dml',
      estimateProvider,
      'cpu',
    )
    .action((dir: string, opts: { context?: number; provider: ExecutionProvider }) => {
      const info = describeBackbone(openBackbone(dir), opts.provider, opts.context);
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
      const config = convertLlama2cFolder(src, dest);
      context.output.result(
        { folder: dest, config },
        (r) => `Wrote ${r.folder} (llama, ${r.config.numLayers} layers, vocabulary ${r.config.vocabSize}).`,
      );
    });

  program
    .command('generate')
    .description('Generate text from a prompt with a backbone (greedy by default)')
    .requiredOption(
      '--backbone <dir>',
      'backbone folder: Hugging Face (config.json, *.safetensors, tokenizer.json) or llama2.c (model .bin + tok*.bin)',
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
      '--adapter <dir>',
      'a run folder (clinprompt train --out) or PEFT adapter folder: prompt tuning, multitask prompt tuning, LoRA or full fine-tuning',
    )
    .option('--task-id <n>', 'which task of a multitask prompt-tuning adapter (default 0)', nonNegativeInt)
    .action(async (flags: GenerateFlags) => {
      const out = context.output;
      const { backbone, adapter } = withAdapter(flags, openBackbone(flags.backbone));
      // chat templates write their own BOS, as transformers' apply_chat_template does
      const text = flags.chat
        ? applyChatTemplate(backbone.tokenizer.config, [{ role: 'user', content: flags.prompt }], {
            source: `${backbone.hfDir}/tokenizer_config.json`,
          })
        : flags.prompt;
      const runner = await BackboneRunner.create(backbone, {
        provider: flags.provider,
        ...(adapter?.graph && { adapter: adapter.graph }),
        ...(flags.threads !== undefined && { threads: flags.threads }),
      });
      try {
        const result = await generate(runner, text, {
          addSpecialTokens: !flags.chat,
          prompt: adapter?.prompt,
          maxTokens: flags.maxTokens,
          temperature: flags.temperature,
          topP: flags.topP,
          seed: flags.seed,
          stop: flags.stop,
        });
        out.note(
          `${result.promptTokens} prompt tokens, ${result.tokens.length} generated (${result.stoppedBy}), ` +
            `${result.tokensPerSecond.toFixed(1)} tokens/s on ${runner.provider}`,
        );
        out.result({ prompt: text, ...result, provider: runner.provider }, (r) => r.prompt + r.text);
      } finally {
        await runner.release();
      }
    });

  program
    .command('score')
    .description('Log-likelihood of each candidate continuation after a prompt, in one batch (closed-label scoring)')
    .requiredOption('--backbone <dir>', 'backbone folder (Hugging Face or llama2.c)')
    .requiredOption('--prompt <text>', 'the text the candidates continue')
    .requiredOption(
      '--candidate <text>',
      'a continuation to score (repeat for each; include its leading space)',
      collect,
      [],
    )
    .option('--adapter <dir>', 'a run folder (clinprompt train --out) or PEFT adapter folder to apply')
    .option('--task-id <n>', 'which task of a multitask prompt-tuning adapter (default 0)', nonNegativeInt)
    .option('--threads <n>', 'CPU threads (default: onnxruntime chooses)', positiveInt)
    .action(
      async (flags: {
        backbone: string;
        prompt: string;
        candidate: string[];
        adapter?: string;
        taskId?: number;
        threads?: number;
      }) => {
        const { backbone, adapter } = withAdapter(flags, openBackbone(flags.backbone));
        const runner = await BackboneRunner.create(backbone, {
          batch: flags.candidate.length,
          ...(adapter?.graph && { adapter: adapter.graph }),
          ...(flags.threads !== undefined && { threads: flags.threads }),
        });
        try {
          const scores = await scoreContinuations(runner, flags.prompt, flags.candidate, { prompt: adapter?.prompt });
          const rows = flags.candidate.map((candidate, k) => ({ candidate, logLikelihood: scores[k]! }));
          context.output.result(rows, (r) =>
            formatTable(
              ['candidate', 'log-likelihood'],
              r.map((x) => [JSON.stringify(x.candidate), x.logLikelihood.toFixed(4)]),
            ),
          );
        } finally {
          await runner.release();
        }
      },
    );
};
