/** `clinprompt backbone info <dir>` and `clinprompt generate --backbone <dir> --prompt "..."`. */
import { InvalidArgumentError } from 'commander';

import { describeBackbone } from '../../backbone/info.js';
import { openBackbone } from '../../backbone/load.js';
import { formatBytes } from '../../backbone/memory-plan.js';
import type { RegisterCommands } from '../context.js';
import { formatTable } from '../output.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export const registerBackboneCommands: RegisterCommands = (program, context) => {
  const backbone = program.command('backbone').description('Inspect backbone model folders (Hugging Face or llama2.c)');
  backbone
    .command('info <dir>')
    .description('Show architecture, parameters, dtype, fingerprint and memory estimate of a backbone folder')
    .option(
      '--context <tokens>',
      'context length for the memory estimate (default: 2048, capped at the model maximum)',
      positiveInt,
    )
    .action((dir: string, opts: { context?: number }) => {
      const info = describeBackbone(openBackbone(dir), 'cpu', opts.context);
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
            `memory (${i.memory.provider}, ${i.memory.contextTokens} tokens)`,
            `${formatBytes(p.totalBytes)} = weights ${formatBytes(p.weightsBytes)} + activations ${formatBytes(p.activationBytes)} + KV cache ${formatBytes(p.kvCacheBytes)} + margin ${formatBytes(p.overheadBytes)}`,
          ],
          ['available now', formatBytes(i.availableBytes)],
        ];
        return formatTable(['', ''], rows).split('\n').slice(2).join('\n');
      });
    });
};
