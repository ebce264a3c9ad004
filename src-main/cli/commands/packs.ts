/**
 * `clinprompt pack export|import|verify|inspect|list|peft` and `pack keys add|list|remove`: signed,
 * PHI-free prompt packs (services/packs.ts, docs/prompt-pack.md).
 */
import path from 'node:path';

import { UserError } from '../../common/errors.js';
import { backboneOrDefault } from '../../backbone/embedded.js';
import { openBackbone } from '../../backbone/load.js';
import {
  exportPack,
  importPack,
  inspectPack,
  listPacks,
  listSigningKeys,
  packAccess,
  removeSigningKey,
  trustSigningKey,
  verifyPack,
  writePackAsPeft,
  type PackAccess,
} from '../../services/packs.js';
import type { CommandContext, RegisterCommands } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatTable } from '../output.js';
import { nonNegativeInt, parseTaskType } from '../options.js';

/** The store's signers and packs, for `--adapter <file.cpack | pack:name>` (unlocks the store on first use). */
export async function storePacks(context: CommandContext): Promise<PackAccess> {
  return packAccess(await context.store(), await context.session());
}

interface PackExportFlags {
  out: string;
  name?: string;
  confirmPhiReviewed?: boolean;
  backbone?: string;
  task?: string;
  labels?: string;
}

const percent = (share: number) => `${(100 * share).toPrecision(3)}%`;

export const registerPackCommands: RegisterCommands = (program, context) => {
  const pack = program
    .command('pack')
    .description('Signed, PHI-free prompt packs: export a run, import, verify and inspect packs, trusted keys');

  pack
    .command('export')
    .description("Pack a training run (a run folder or a run id from `runs list`), signed with this workstation's key")
    .argument('<run>', 'a run folder (clinprompt train --out), the id of a run in the store, or a PEFT adapter folder')
    .requiredOption('--out <file.cpack>', 'the pack file to write (must not exist)')
    .option('--name <name>', "the pack's name (default: <dataset>-<method>); each export of a name is a new version")
    .option(
      '--confirm-phi-reviewed',
      'informatics-admin only: export although the PHI scan flagged text you reviewed and found harmless (audited)',
    )
    .option('--backbone <dir>', 'for a PEFT adapter folder without run.json: the backbone it was trained on')
    .option('--task <type>', 'for a PEFT adapter folder: the task it serves (ner, re, qa, nli, summarization)')
    .option('--labels <list>', 'for a PEFT adapter folder: its label set, comma-separated')
    .action(async (run: string, flags: PackExportFlags) => {
      const task = parseTaskType(flags.task);
      if ((flags.backbone === undefined) !== (task === undefined))
        throw new UserError('INVALID_ARGUMENT', 'A PEFT adapter folder needs both --backbone and --task.', {
          field: flags.backbone === undefined ? 'backbone' : 'task',
        });
      const result = await exportPack(await context.store(), await context.session(), {
        source: run,
        out: flags.out,
        ...(flags.name !== undefined && { name: flags.name }),
        ...(flags.confirmPhiReviewed && { confirmPhi: true }),
        ...(flags.backbone !== undefined &&
          task && {
            peft: {
              backbone: openBackbone(flags.backbone),
              backboneName: path.basename(path.resolve(flags.backbone)),
              task: { type: task, labels: flags.labels?.split(',').map((l) => l.trim()) ?? [] },
            },
          }),
      });
      context.output.result(
        result,
        (r) =>
          `Exported ${r.name} version ${r.version} (${r.method}) to ${r.file}: ${r.bytes} bytes, signed by key ${r.keyId}.` +
          (r.confirmedFindings.length > 0 ? ` ${r.confirmedFindings.length} PHI-scan finding(s) confirmed.` : ''),
      );
    });

  pack
    .command('import')
    .description('Verify a pack (checksums, signature, backbone, tensors) and record it in the store')
    .argument('<file>', 'the .cpack file')
    .option(
      '--backbone <dir>',
      'the backbone this workstation runs the pack on, the one it was trained on (default: the embedded backbone)',
    )
    .option(
      '--allow-untrusted',
      'informatics-admin only: import an unsigned pack or one signed by an untrusted key (audited)',
    )
    .action(async (file: string, flags: { backbone?: string; allowUntrusted?: boolean }) => {
      const backbone = openBackbone(backboneOrDefault(flags.backbone));
      const result = importPack(await context.store(), await context.session(), {
        file,
        backbone,
        ...(flags.allowUntrusted && { allowUntrusted: true }),
      });
      context.output.result(
        result,
        (r) =>
          `Imported ${r.name} version ${r.version} (${r.method}) as prompt ${r.promptId}; signature ${r.signature}` +
          (r.keyId ? ` (key ${r.keyId}).` : '.'),
      );
    });

  pack
    .command('verify')
    .description('Check a pack: intact and signed by a trusted key (exit code 0), else exit code 1 and why')
    .argument('<file>', 'the .cpack file')
    .action(async (file: string) => {
      const result = verifyPack(await context.store(), await context.session(), file);
      context.output.result(result, (r) =>
        r.ok ? `${r.file}: intact, signed by trusted key ${r.keyId} (${r.name} version ${r.version}).` : `${r.problem}`,
      );
      if (!result.ok) context.exitCode = EXIT.failed;
    });

  pack
    .command('inspect')
    .description('Show what a pack holds (manifest, signer); needs no store')
    .argument('<file>', 'the .cpack file')
    .action((file: string) => {
      const result = inspectPack(file);
      context.output.result(result, ({ manifest: m, signature }) =>
        [
          `${m.name} version ${m.version} (${m.id}), pack format ${m.formatVersion}`,
          `method ${m.method} (${m.peftType}), ${m.trainableParameters} trainable parameters = ${percent(m.trainableShare)}`,
          `backbone ${m.backbone.name} (fingerprint ${m.backbone.fingerprint.slice(0, 12)})`,
          `made by ${m.creator.user} at ${m.createdAt}`,
          signature
            ? `signed by key ${signature.keyId}: signature ${signature.valid ? 'valid' : 'INVALID'} (trust: see pack verify)`
            : 'unsigned',
          formatTable(
            ['task', 'type', 'labels'],
            m.tasks.map((t) => [t.name, t.type, t.labels.join(', ')]),
          ),
          formatTable(
            ['split', 'dataset', 'examples', 'metrics'],
            m.metrics.map((x) => [
              x.split,
              x.dataset,
              x.examples === null ? '' : String(x.examples),
              Object.entries(x.values)
                .map(([k, v]) => `${k} ${v.toFixed(4)}`)
                .join(', '),
            ]),
          ),
        ].join('\n'),
      );
    });

  pack
    .command('list')
    .description('Packs exported from and imported into this store')
    .action(async () => {
      const rows = listPacks(await context.store(), await context.session());
      context.output.result(rows, (list) =>
        formatTable(
          ['prompt', 'name', 'version', 'method', 'source', 'signer', 'trusted', 'created'],
          list.map((p) => [
            String(p.promptId),
            p.name,
            String(p.version),
            p.method,
            p.source,
            p.keyId ?? 'unsigned',
            p.trusted ? 'yes' : 'no',
            p.createdAt,
          ]),
        ),
      );
    });

  pack
    .command('peft')
    .description("Write a pack's adapter as a PEFT adapter folder for Python (PeftModel.from_pretrained)")
    .argument('<file>', 'the .cpack file')
    .requiredOption('--out <dir>', 'the folder to create')
    .option('--prompt-tuning', 'multitask prompt tuning: write task --task-id as PROMPT_TUNING, P* o (u v^T) computed')
    .option('--task-id <n>', 'which task of a multitask prompt-tuning pack (default 0)', nonNegativeInt)
    .action((file: string, flags: { out: string; promptTuning?: boolean; taskId?: number }) => {
      const result = writePackAsPeft(file, flags.out, {
        ...(flags.promptTuning && { promptTuning: true }),
        ...(flags.taskId !== undefined && { taskId: flags.taskId }),
      });
      context.output.result(result, (r) => `Wrote a ${r.peftType} adapter folder to ${r.dir}.`);
    });

  const keys = pack.command('keys').description('The signing keys whose packs this workstation accepts');

  keys
    .command('list')
    .description("Trusted keys, this workstation's own key (made on the first export) and removed ones")
    .action(async () => {
      const rows = listSigningKeys(await context.store(), await context.session());
      context.output.result(rows, (list) =>
        formatTable(
          ['key id', 'label', 'own', 'trusted', 'added by', 'public key (SPKI, base64)'],
          list.map((k) => [
            k.keyId,
            k.label,
            k.own ? 'yes' : '',
            k.trusted ? 'yes' : 'removed',
            k.addedBy,
            k.publicKey,
          ]),
        ),
      );
    });

  keys
    .command('add')
    .description('Trust a public key (informatics-admin; audited)')
    .argument('<key>', 'the key: base64 SPKI DER or PEM text, a file holding it, or a pack signed with it')
    .requiredOption('--label <text>', 'whose key it is, e.g. "ICU workstation 3" or "St Mary research group"')
    .action(async (key: string, flags: { label: string }) => {
      const added = trustSigningKey(await context.store(), await context.session(), { key, label: flags.label });
      context.output.result(added, (k) => `Trusted key ${k.keyId} (${k.label}).`);
    });

  keys
    .command('remove')
    .description('Stop trusting a key (informatics-admin; audited); packs already imported stay')
    .argument('<key-id>', 'the key id from `pack keys list`')
    .action(async (keyId: string) => {
      const removed = removeSigningKey(await context.store(), await context.session(), keyId);
      context.output.result(removed, (k) => `Key ${k.keyId} (${k.label}) is no longer trusted.`);
    });
};
