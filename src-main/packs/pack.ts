/**
 * Prompt packs (docs/prompt-pack.md): one zip holding a PEFT adapter as Python's PEFT saves it
 * (adapter_config.json + adapter_model.safetensors), a manifest that says what it is, how it was
 * trained and on which backbone, with the SHA-256 of every member, and an Ed25519 signature of the
 * manifest. This module builds and reads the bytes; who may export or import them, and whether a
 * signer is trusted, is the services' business (services/packs.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loadPeftAdapter, type PeftAdapter } from '../peft/adapter-folder.js';
import type { RunRecord } from '../peft/run-folder.js';
import { templateFor, type TaskConfig } from '../tasks/registry.js';
import { readContainer, writeContainer } from './container.js';
import {
  MANIFEST_FILE,
  MANIFEST_MAX_BYTES,
  ManifestSchema,
  PACK_FORMAT,
  PACK_FORMAT_VERSION,
  PACK_METHODS,
  SIGNATURE_FILE,
  SignatureSchema,
  sha256Hex,
  type PackManifest,
  type PackSignature,
} from './manifest.js';

/** The members a pack may hold besides the manifest and signature: a PEFT adapter. */
export const ADAPTER_MEMBERS = [ADAPTER_CONFIG, ADAPTER_WEIGHTS] as const;

/** What a pack is made from: a run folder's record and adapter files, as plain values. */
export interface PackSource {
  readonly record: RunRecord;
  readonly adapterConfig: Buffer;
  readonly adapterWeights: Buffer;
  /** A PEFT adapter folder trained elsewhere: what it was trained on is unknown, so no data is listed. */
  readonly fromPeftFolder?: boolean;
}

export interface PackIdentity {
  readonly name: string;
  readonly version: number;
  readonly creator: { readonly user: string; readonly keyId: string };
  /** Fixed in tests; a fresh UUID and the current time otherwise. */
  readonly id?: string;
  readonly createdAt?: string;
}

/** The manifest of a run's pack; refuses runs that are not portable adapters (full fine-tuning). */
export function packManifest(source: PackSource, identity: PackIdentity): PackManifest {
  const { record } = source;
  if (!(PACK_METHODS as readonly string[]).includes(record.method))
    throw new UserError(
      'UNSUPPORTED',
      `A ${record.method} run cannot be packed: packs hold prompts and adapters (${PACK_METHODS.join(', ')}); ` +
        'a fully fine-tuned model is a backbone of its own.',
    );
  let peftType: unknown;
  try {
    peftType = (JSON.parse(source.adapterConfig.toString('utf8')) as Record<string, unknown>)['peft_type'];
  } catch {
    throw new UserError('BAD_FILE', `The run's ${ADAPTER_CONFIG} is not valid JSON; the run folder is damaged.`);
  }
  const configs = (Array.isArray(record.data.task) ? record.data.task : [record.data.task]) as TaskConfig[];
  const names = record.tasks?.map((t) => t.name) ?? [record.data.name];
  const manifest = {
    format: PACK_FORMAT,
    formatVersion: PACK_FORMAT_VERSION,
    id: identity.id ?? randomUUID(),
    name: identity.name,
    version: identity.version,
    method: record.method,
    peftType,
    tasks: configs.map((c, i) => ({
      name: names[i] ?? record.data.name,
      type: c.type,
      labels: [...c.labels],
      template: templateFor(c),
    })),
    metrics: Object.entries(record.metrics).map(([split, values]) => ({
      split,
      dataset: record.data.name,
      examples: split === 'dev' ? record.data.dev : split === 'train' ? record.data.train : null,
      values: { ...values },
    })),
    data: source.fromPeftFolder
      ? []
      : record.tasks
        ? record.tasks.map((t) => ({ name: t.name, train: t.train, dev: 0 }))
        : [{ name: record.data.name, train: record.data.train, dev: record.data.dev }],
    trainableParameters: record.trainableParameters,
    trainableShare: record.trainableShare,
    hyperparameters: { settings: withoutLocalPaths(record.settings), train: withoutLocalPaths(record.train) },
    backbone: { ...record.backbone },
    creator: { ...identity.creator },
    createdAt: identity.createdAt ?? new Date().toISOString(),
    members: {
      [ADAPTER_CONFIG]: { sha256: sha256Hex(source.adapterConfig), bytes: source.adapterConfig.length },
      [ADAPTER_WEIGHTS]: { sha256: sha256Hex(source.adapterWeights), bytes: source.adapterWeights.length },
    },
  };
  const parsed = ManifestSchema.safeParse(manifest);
  if (!parsed.success)
    throw new UserError('BAD_FILE', `The run cannot be packed: ${issueText(parsed.error.issues[0]!)}.`);
  return parsed.data;
}

/**
 * Settings that name local files (MPT's --meta, distillation's teachers, output folders) mean
 * nothing on another machine and may carry a person's login in their path: they are left out.
 */
function withoutLocalPaths(settings: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const local = (v: unknown): boolean =>
    (typeof v === 'string' && /[/\\]/.test(v)) || (Array.isArray(v) && v.some(local));
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => !local(v)));
}

/** The manifest's bytes as they are signed and stored. */
export function manifestBytes(manifest: PackManifest): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
}

export function writePack(
  manifestJson: Buffer,
  signature: PackSignature,
  source: Pick<PackSource, 'adapterConfig' | 'adapterWeights'>,
): Buffer {
  return writeContainer(
    new Map([
      [MANIFEST_FILE, manifestJson],
      [SIGNATURE_FILE, Buffer.from(JSON.stringify(signature, null, 2) + '\n')],
      [ADAPTER_CONFIG, source.adapterConfig],
      [ADAPTER_WEIGHTS, source.adapterWeights],
    ]),
  );
}

/** A pack whose structure and checksums were checked; the signature is parsed, not yet judged. */
export interface OpenedPack {
  readonly manifest: PackManifest;
  readonly manifestBytes: Buffer;
  readonly signature: PackSignature | undefined;
  readonly adapterConfig: Buffer;
  readonly adapterWeights: Buffer;
}

/**
 * Reads a pack's bytes and checks everything that needs no trust decision and no backbone: the
 * container (container.ts), the member set, the manifest's format version and schema, and every
 * member's size and SHA-256. Throws BAD_FILE, or UNSUPPORTED for a newer format; never writes.
 */
export function readPack(bytes: Uint8Array, source: string): OpenedPack {
  const bad = (problem: string) =>
    new UserError('BAD_FILE', `${source} is not a valid prompt pack: ${problem}. Nothing was imported.`);
  const members = readContainer(bytes, source);
  const allowed = new Set<string>([MANIFEST_FILE, SIGNATURE_FILE, ...ADAPTER_MEMBERS]);
  for (const name of members.keys()) if (!allowed.has(name)) throw bad(`it holds an unexpected member ${name}`);
  const raw = members.get(MANIFEST_FILE);
  if (!raw) throw bad(`it has no ${MANIFEST_FILE}`);
  const manifest = parseJsonMember(raw, MANIFEST_FILE, bad);
  const fields = manifest as { format?: unknown; formatVersion?: unknown };
  if (fields.format !== PACK_FORMAT) throw bad(`${MANIFEST_FILE} is not a ClinPrompt pack manifest`);
  if (typeof fields.formatVersion === 'number' && fields.formatVersion > PACK_FORMAT_VERSION)
    throw new UserError(
      'UNSUPPORTED',
      `${source} was made by a newer ClinPrompt (pack format ${fields.formatVersion}; this one reads format ${PACK_FORMAT_VERSION}). ` +
        'Update ClinPrompt to import it. Nothing was imported.',
    );
  const parsed = ManifestSchema.safeParse(manifest);
  if (!parsed.success) throw bad(`${MANIFEST_FILE}: ${issueText(parsed.error.issues[0]!)}`);
  const listed = Object.keys(parsed.data.members).sort();
  if (listed.join() !== [...ADAPTER_MEMBERS].sort().join())
    throw bad(`${MANIFEST_FILE} lists members ${listed.join(', ')}, not ${ADAPTER_MEMBERS.join(', ')}`);
  for (const [name, expected] of Object.entries(parsed.data.members)) {
    const data = members.get(name);
    if (!data) throw bad(`member ${name} is missing`);
    if (data.length !== expected.bytes || sha256Hex(data) !== expected.sha256)
      throw bad(`member ${name} does not match its checksum in ${MANIFEST_FILE} (damaged or altered)`);
  }
  let signature: PackSignature | undefined;
  const rawSignature = members.get(SIGNATURE_FILE);
  if (rawSignature) {
    const sig = SignatureSchema.safeParse(parseJsonMember(rawSignature, SIGNATURE_FILE, bad));
    if (!sig.success) throw bad(`${SIGNATURE_FILE}: ${issueText(sig.error.issues[0]!)}`);
    signature = sig.data;
  }
  return {
    manifest: parsed.data,
    manifestBytes: raw,
    signature,
    adapterConfig: members.get(ADAPTER_CONFIG)!,
    adapterWeights: members.get(ADAPTER_WEIGHTS)!,
  };
}

function parseJsonMember(raw: Buffer, name: string, bad: (problem: string) => UserError): unknown {
  if (raw.length > MANIFEST_MAX_BYTES) throw bad(`${name} is over ${MANIFEST_MAX_BYTES} bytes`);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw)) as unknown;
  } catch {
    throw bad(`${name} is not valid UTF-8 JSON`);
  }
}

function issueText(issue: { path: readonly PropertyKey[]; message: string }): string {
  return `${issue.path.map(String).join('.') || 'the top level'}: ${issue.message}`;
}

/**
 * Writes a pack's adapter into `dir` as a PEFT adapter folder (what Python's
 * PeftModel.from_pretrained loads), unchanged byte for byte.
 */
export function writeAdapterFolder(pack: OpenedPack, dir: string): void {
  writeFileSync(path.join(dir, ADAPTER_CONFIG), pack.adapterConfig, { mode: 0o600 });
  writeFileSync(path.join(dir, ADAPTER_WEIGHTS), pack.adapterWeights, { mode: 0o600 });
}

/**
 * Loads a pack's adapter for `config`'s backbone. The PEFT loader reads folders, so the two
 * members pass through a private temporary folder that is removed before this returns.
 */
export function loadPackAdapter(
  pack: OpenedPack,
  config: Parameters<typeof loadPeftAdapter>[1],
  options: { taskId?: number } = {},
): PeftAdapter {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clinprompt-pack-'));
  try {
    writeAdapterFolder(pack, dir);
    return loadPeftAdapter(dir, config, options);
  } catch (error) {
    if (error instanceof UserError && error.field !== undefined) throw error; // e.g. --task-id out of range
    const reason =
      error instanceof UserError ? error.message.replaceAll(dir, 'the pack') : 'its tensors are unreadable';
    throw new UserError(
      error instanceof UserError && error.code === 'BACKBONE_MISMATCH' ? 'BACKBONE_MISMATCH' : 'BAD_FILE',
      `The pack "${pack.manifest.name}" cannot be loaded: ${reason}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
