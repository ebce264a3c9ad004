/**
 * The prompt-pack use cases (docs/prompt-pack.md): export a training run as a signed, PHI-scanned
 * pack; import, verify, inspect and list packs; manage the signing keys a workstation trusts; open
 * a pack as `--adapter`. Checks run in a fixed order so that a refused pack changes nothing: the
 * file's structure and checksums (packs/pack.ts), the signature against the store's trusted keys,
 * the backbone's fingerprint, the tensors against the backbone; only then the store is written.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import type { Backbone } from '../backbone/load.js';
import type {
  PackExportView,
  PackImportView,
  PackListing,
  PackPreviewView,
  PackSignatureStatus as SignatureStatus,
  PackVerificationView,
} from '../ipc/contract.js';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  loadPeftAdapter,
  PREFIX_TASK_COLS,
  type PeftAdapter,
  writeMptAsPromptTuning,
} from '../peft/adapter-folder.js';
import { openAdapter, readRunRecord, RUN_FILE, type RunRecord } from '../peft/run-folder.js';
import type { TaskConfig } from '../tasks/registry.js';
import { SafetensorsWeights } from '../backbone/hf/safetensors.js';
import { PACK_LIMITS } from '../packs/container.js';
import {
  PACK_EXTENSION,
  keyIdOf,
  parsePublicKey,
  publicKeyBase64,
  sha256Hex,
  signManifest,
  signatureValid,
  type PackManifest,
  type PackSignature,
} from '../packs/manifest.js';
import {
  loadPackAdapter,
  manifestBytes,
  packManifest,
  readPack,
  writeAdapterFolder,
  writePack,
  type OpenedPack,
  type PackSource,
} from '../packs/pack.js';
import { describeFindings, scanValue, type PhiFinding } from '../packs/phi-scan.js';
import { RELEASE_KEY_ID, RELEASE_PUBLIC_KEY, RELEASE_SIGNER } from '../packs/release-key.js';
import { writeAuditedExport } from '../store/audited-export.js';
import type { SigningKey } from '../store/repositories/signing-keys.js';
import type { StoreSession } from '../store/session.js';
import type { Store } from '../store/store.js';

export function isPackFile(source: string): boolean {
  return source.toLowerCase().endsWith(PACK_EXTENSION);
}

/** The pack file's bytes; its size is checked before it is read. */
export function readPackFile(file: string, field = 'file'): Buffer {
  if (!existsSync(file) || !statSync(file).isFile())
    throw new UserError('NOT_FOUND', `${file} does not exist or is not a file.`, { field });
  const size = statSync(file).size;
  if (size > PACK_LIMITS.fileBytes)
    throw new UserError(
      'BAD_FILE',
      `${file} is not a valid prompt pack: it is ${size} bytes, over the ${PACK_LIMITS.fileBytes}-byte limit. Nothing was imported.`,
    );
  return readFileSync(file);
}

// ---------------------------------------------------------------------------------------------
// signatures and trust
// ---------------------------------------------------------------------------------------------

/** What the pack's signature is worth here: valid and by a key in `trusted` (keyId -> public key). */
export function judgeSignature(
  pack: OpenedPack,
  trusted: ReadonlyMap<string, string>,
): { status: SignatureStatus; keyId: string | null } {
  const sig = pack.signature;
  if (!sig) return { status: 'unsigned', keyId: null };
  if (!signatureValid(pack.manifestBytes, sig)) return { status: 'invalid', keyId: sig.keyId };
  return { status: trusted.get(sig.keyId) === sig.publicKey ? 'trusted' : 'untrusted', keyId: sig.keyId };
}

/** The signers whose packs this workstation accepts: the store's trusted keys and ClinPrompt's release key. */
function trustedSigners(store: Store): Map<string, string> {
  return new Map([...store.signingKeys.trusted(), [RELEASE_KEY_ID, RELEASE_PUBLIC_KEY]]);
}

function refuseUntrusted(file: string, judged: { status: SignatureStatus; keyId: string | null }): never {
  if (judged.status === 'invalid')
    throw new UserError(
      'BAD_FILE',
      `${file}: its signature does not match its manifest (altered after signing, or damaged). Nothing was imported.`,
    );
  throw new UserError(
    'UNTRUSTED',
    judged.status === 'unsigned'
      ? `${file} is not signed. Only an informatics-admin can import it, with --allow-untrusted (audited). Nothing was imported.`
      : `${file} is signed by key ${judged.keyId}, which this workstation does not trust. An informatics-admin can trust it ` +
          `(clinprompt pack keys add) or import this pack once with --allow-untrusted (audited). Nothing was imported.`,
  );
}

function checkBackbone(file: string, manifest: PackManifest, backbone: Backbone): void {
  if (manifest.backbone.fingerprint !== backbone.fingerprint())
    throw new UserError(
      'BACKBONE_MISMATCH',
      `${file} was trained on ${manifest.backbone.name} (fingerprint ${manifest.backbone.fingerprint.slice(0, 12)}), ` +
        `not on ${backbone.sourceDir} (fingerprint ${backbone.fingerprint().slice(0, 12)}). Use the backbone it was trained on.`,
      { field: 'backbone' },
    );
}

/** The workstation's own signing key, made (and audited) on first use. */
function ownKey(store: Store, session: StoreSession): { keyId: string; sign: (bytes: Buffer) => PackSignature } {
  let own = store.signingKeys.own();
  if (!own) {
    const pair = generateKeyPairSync('ed25519');
    const publicKey = publicKeyBase64(pair.publicKey);
    const keyId = keyIdOf(Buffer.from(publicKey, 'base64'));
    session.perform(
      'packs.export',
      'packs.key-create',
      () =>
        store.signingKeys.addOwn(
          keyId,
          publicKey,
          pair.privateKey.export({ type: 'pkcs8', format: 'der' }),
          session.user.username,
        ),
      () => ({ objectType: 'signing-key', objectIds: [keyId] }),
    );
    own = store.signingKeys.own()!;
  }
  const privateKey = createPrivateKey({ key: own.privateKey, format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey({ key: Buffer.from(own.publicKey, 'base64'), format: 'der', type: 'spki' });
  own.privateKey.fill(0);
  return { keyId: own.keyId, sign: (bytes) => signManifest(bytes, privateKey, publicKey) };
}

// ---------------------------------------------------------------------------------------------
// export
// ---------------------------------------------------------------------------------------------

export interface PackExportRequest {
  /** A run folder, or the id of a run recorded in the store. */
  readonly source: string;
  readonly out: string;
  /** The pack's name (default: the dataset's name and the method). */
  readonly name?: string;
  /** An informatics-admin confirms that the PHI scan's findings are not identifiers. */
  readonly confirmPhi?: boolean;
  /**
   * A PEFT adapter folder trained elsewhere (no run.json) says neither its backbone nor its task:
   * the backbone it fits (checked by loading it) and the task it serves.
   */
  readonly peft?: { readonly backbone: Backbone; readonly backboneName: string; readonly task: TaskConfig };
}

/** The text of a manifest a person or a dataset supplied, scanned for identifiers. */
export function scanManifest(manifest: PackManifest): PhiFinding[] {
  return [
    ...scanValue('name', manifest.name),
    ...scanValue('tasks', manifest.tasks),
    ...scanValue('metrics', manifest.metrics),
    ...scanValue('data', manifest.data),
    ...scanValue('hyperparameters', manifest.hyperparameters),
    ...scanValue('backbone.name', manifest.backbone.name),
  ];
}

export async function exportPack(
  store: Store,
  session: StoreSession,
  request: PackExportRequest,
): Promise<PackExportView> {
  session.require('packs.export', 'export a pack');
  if (!isPackFile(request.out))
    throw new UserError('INVALID_ARGUMENT', `must be a file name ending in ${PACK_EXTENSION}.`, { field: 'out' });
  if (existsSync(request.out))
    throw new UserError('ALREADY_EXISTS', `${request.out} already exists; choose a new file name.`, { field: 'out' });
  if (!existsSync(path.dirname(path.resolve(request.out))))
    throw new UserError('NOT_FOUND', `the folder ${path.dirname(path.resolve(request.out))} does not exist.`, {
      field: 'out',
    });
  const { source, runId, name, version, creator, draft, findings } = draftPack(store, session, request);
  if (findings.length > 0 && !request.confirmPhi) {
    session.record('packs.export', 'packs.export-stopped', {
      details: {
        reason: 'phi-scan',
        findings: findings.length,
        kinds: [...new Set(findings.map((f) => f.kind))].join(','),
      },
    });
    throw new UserError(
      'PHI_SUSPECTED',
      `The pack's text looks like it holds identifiers: ${describeFindings(findings)}. Edit the template, label or ` +
        'dataset name, or have an informatics-admin review it and export with --confirm-phi-reviewed (audited). Nothing was written.',
    );
  }
  if (findings.length > 0) session.require('store.admin', 'confirm that a pack holds no PHI');
  const key = ownKey(store, session);
  const manifest = { ...draft, creator: { ...creator, keyId: key.keyId } };
  const json = manifestBytes(manifest);
  const bytes = writePack(json, key.sign(json), source);
  const sha256 = sha256Hex(bytes);
  const file = path.resolve(request.out);
  await writeAuditedExport(
    {
      session,
      permission: 'packs.export',
      action: 'packs.export',
      target: file,
      record: {
        objectType: runId === undefined ? 'run-folder' : 'run',
        objectIds: runId === undefined ? [] : [runId],
        details: {
          packId: manifest.id,
          name,
          version,
          method: manifest.method,
          keyId: key.keyId,
          sha256,
          phiFindingsConfirmed: findings.length,
        },
      },
    },
    (temp) => writeFileSync(temp, bytes),
  );
  const prompt = store.prompts.save(
    {
      name,
      method: manifest.method,
      backboneFingerprint: manifest.backbone.fingerprint,
      taskTypes: manifest.tasks.map((t) => t.type),
      meta: { source: 'export', packId: manifest.id, packVersion: version, keyId: key.keyId, trusted: true },
      ...(runId !== undefined && { runId }),
    },
    bytes,
  );
  store.prompts.recordExport(prompt.id, path.basename(file), sha256, session.user.username);
  return {
    file,
    id: manifest.id,
    name,
    version,
    method: manifest.method,
    keyId: key.keyId,
    sha256,
    bytes: bytes.length,
    confirmedFindings: findings,
  };
}

/**
 * A finished run folder packed without a store and signed by ClinPrompt's release key (a PKCS#8
 * PEM), as the meta-prompt shipped beside the embedded backbone is built. Refuses any other key,
 * and a manifest whose text looks like it holds identifiers.
 */
export function releasePack(runDir: string, privateKeyPem: string, name: string): Buffer {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new UserError('BAD_FILE', 'is not a PEM private key.', { field: 'signKey', cause: error });
  }
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey.export({ type: 'spki', format: 'der' }));
  if (privateKey.asymmetricKeyType !== 'ed25519' || keyId !== RELEASE_KEY_ID)
    throw new UserError('UNTRUSTED', `is not ClinPrompt's release key (${RELEASE_KEY_ID}).`, { field: 'signKey' });
  const record = readRunRecord(runDir);
  if (!record) throw new UserError('NOT_FOUND', `${runDir} is not a training run folder (it has no run.json).`);
  const source = folderSource(runDir, record);
  const manifest = packManifest(source, { name, version: 1, creator: { user: RELEASE_SIGNER, keyId } });
  const findings = scanManifest(manifest);
  if (findings.length > 0)
    throw new UserError(
      'PHI_SUSPECTED',
      `The pack's text looks like it holds identifiers: ${describeFindings(findings)}.`,
    );
  const json = manifestBytes(manifest);
  return writePack(json, signManifest(json, privateKey, publicKey), source);
}

/** The pack a run would become, before it is signed: its manifest and what the PHI scan finds in it. */
function draftPack(store: Store, session: StoreSession, request: Omit<PackExportRequest, 'out' | 'confirmPhi'>) {
  const { source, runId } = packSource(store, request);
  const name = request.name ?? `${source.record.data.name}-${source.record.method}`;
  const version = Math.max(0, ...store.prompts.list(name).map((p) => p.version)) + 1;
  const creator = { user: session.user.username, keyId: store.signingKeys.own()?.keyId ?? '0'.repeat(32) };
  const draft = packManifest(source, { name, version, creator });
  return { source, runId, name, version, creator, draft, findings: scanManifest(draft) };
}

/** What `exportPack` would write, shown before it writes: the manifest's gist, the PHI findings, the signer. */
export function previewPackExport(
  store: Store,
  session: StoreSession,
  request: Omit<PackExportRequest, 'out' | 'confirmPhi'>,
): PackPreviewView {
  session.require('packs.export', 'export a pack');
  const { draft, findings } = draftPack(store, session, request);
  return {
    name: draft.name,
    version: draft.version,
    method: draft.method,
    tasks: draft.tasks.map((t) => ({ name: t.name, type: t.type, labels: t.labels })),
    backbone: draft.backbone.name,
    trainableParameters: draft.trainableParameters,
    findings,
    signer: { user: draft.creator.user, keyId: store.signingKeys.own()?.keyId ?? null },
  };
}

/** A run folder's record and adapter files; a run id is looked up in the store (its folder must still hold its adapter). */
function packSource(
  store: Store,
  request: Omit<PackExportRequest, 'out' | 'confirmPhi'>,
): { source: PackSource; runId?: number } {
  const source = request.source;
  let dir = source;
  let runId: number | undefined;
  if (/^\d+$/.test(source) && !existsSync(source)) {
    runId = Number(source);
    const run = store.runs.get(runId);
    if (run.status !== 'succeeded')
      throw new UserError(
        'INVALID_ARGUMENT',
        `Run ${runId} has status ${run.status}; only a finished (succeeded) run can be packed.`,
        {
          field: 'source',
        },
      );
    dir = String(run.config['outDir'] ?? '');
  }
  const record = readRunRecord(dir) ?? (request.peft && peftFolderRecord(dir, request.peft, request.name));
  if (!record)
    throw new UserError(
      'NOT_FOUND',
      `${dir} is not a training run folder (it has no run.json). For a PEFT adapter folder, name its backbone and task.`,
      { field: 'source' },
    );
  const folder = folderSource(dir, record, 'source');
  if (runId !== undefined) {
    // The folder must still hold the tensors the store recorded for the run.
    const artifact = store.runs.artifacts(runId).find((a) => a.name === ADAPTER_WEIGHTS);
    if (artifact && store.blobs.info(artifact.blobId).sha256 !== sha256Hex(folder.adapterWeights))
      throw new UserError(
        'BAD_FILE',
        `${dir} no longer holds the tensors run ${runId} recorded (it was retrained or changed); export that folder by path.`,
        { field: 'source' },
      );
  }
  return { source: folder, ...(runId !== undefined && { runId }) };
}

/** A run (or PEFT) folder's adapter files beside its record; `field` names the setting that chose the folder. */
function folderSource(dir: string, record: RunRecord, field?: string): PackSource {
  const files = [ADAPTER_CONFIG, ADAPTER_WEIGHTS].map((f) => path.join(dir, f));
  for (const f of files)
    if (!existsSync(f))
      throw new UserError('NOT_FOUND', `${f} is missing: the run folder is incomplete.`, {
        ...(field !== undefined && { field }),
      });
  return {
    record,
    adapterConfig: readFileSync(files[0]!),
    adapterWeights: readFileSync(files[1]!),
    ...(!existsSync(path.join(dir, RUN_FILE)) && { fromPeftFolder: true }),
  };
}

const PEFT_METHODS: Readonly<Record<string, string>> = {
  PROMPT_TUNING: 'pt',
  MULTITASK_PROMPT_TUNING: 'mpt',
  LORA: 'lora',
};

/**
 * What a run.json would say of a PEFT adapter folder (Python's PEFT, another tool): its method
 * from peft_type, its trained-value count from its tensors; the tensors must fit the backbone.
 */
function peftFolderRecord(dir: string, peft: NonNullable<PackExportRequest['peft']>, name?: string): RunRecord {
  const adapter = loadPeftAdapter(dir, peft.backbone.config); // refuses tensors that do not fit
  const config = JSON.parse(readFileSync(path.join(dir, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
  const weights = new SafetensorsWeights([path.join(dir, ADAPTER_WEIGHTS)]);
  const tasks = adapter.type === 'MULTITASK_PROMPT_TUNING' ? (weights.get(PREFIX_TASK_COLS).shape[0] ?? 1) : 1;
  const trainable = [...weights.tensors.values()].reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const dataName = name ?? path.basename(path.resolve(dir));
  const method = tasks > 1 ? 'mpt-distill' : PEFT_METHODS[adapter.type]!;
  const settings = Object.fromEntries(
    Object.entries(config).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string'),
  );
  return {
    method,
    settings,
    train: {},
    trainableParameters: trainable,
    trainableShare: trainable / peft.backbone.parameters,
    backbone: {
      name: peft.backboneName,
      fingerprint: peft.backbone.fingerprint(),
      parameters: peft.backbone.parameters,
    },
    data: { name: dataName, version: '', task: tasks > 1 ? Array(tasks).fill(peft.task) : peft.task, train: 0, dev: 0 },
    ...(tasks > 1 && {
      tasks: Array.from({ length: tasks }, (_, k) => ({
        name: `${dataName}-task-${k}`,
        train: 0,
        parts: { first: {}, last: {} },
      })),
    }),
    seed: 0,
    provider: '',
    steps: 0,
    totalSteps: 0,
    resumedFromStep: 0,
    stoppedEarly: false,
    truncatedExamples: 0,
    tokensSeen: 0,
    wallSeconds: 0,
    firstLoss: null,
    lastLoss: null,
    losses: [],
    evaluations: [],
    metrics: {},
    bestStep: null,
  };
}

// ---------------------------------------------------------------------------------------------
// import, verify, inspect, list
// ---------------------------------------------------------------------------------------------

export interface PackImportRequest {
  readonly file: string;
  /** The backbone this workstation will run the pack on: its fingerprint must match the pack's. */
  readonly backbone: Backbone;
  /** An informatics-admin accepts an unsigned or untrusted pack (audited). */
  readonly allowUntrusted?: boolean;
}

/** Verifies a pack completely, then records it (the pack's bytes, encrypted) in the store. */
export function importPack(store: Store, session: StoreSession, request: PackImportRequest): PackImportView {
  session.require('packs.import', 'import a pack');
  const file = request.file;
  const bytes = readPackFile(file); // read once: what is checked is what is stored
  const pack = readPack(bytes, file);
  const judged = judgeSignature(pack, trustedSigners(store));
  if (judged.status !== 'trusted') {
    if (judged.status === 'invalid' || !request.allowUntrusted) refuseUntrusted(file, judged);
    session.require('store.admin', 'import an unsigned or untrusted pack');
  }
  checkBackbone(file, pack.manifest, request.backbone);
  loadPackAdapter(pack, request.backbone.config); // the tensors fit this backbone
  const m = pack.manifest;
  if (store.prompts.list(m.name).some((p) => p.meta['packId'] === m.id && p.meta['packVersion'] === m.version))
    throw new UserError('ALREADY_EXISTS', `Pack ${m.name} version ${m.version} (${m.id}) is already in the store.`);
  const prompt = session.perform(
    'packs.import',
    'packs.import',
    () =>
      store.prompts.save(
        {
          name: m.name,
          method: m.method,
          backboneFingerprint: m.backbone.fingerprint,
          taskTypes: m.tasks.map((t) => t.type),
          meta: {
            source: 'import',
            packId: m.id,
            packVersion: m.version,
            keyId: judged.keyId,
            trusted: judged.status === 'trusted',
          },
        },
        bytes,
      ),
    (p) => ({
      objectType: 'prompt',
      objectIds: [p.id],
      details: {
        packId: m.id,
        name: m.name,
        version: m.version,
        signature: judged.status,
        keyId: judged.keyId ?? '',
        untrustedAllowed: judged.status !== 'trusted',
        sha256: sha256Hex(bytes),
      },
    }),
  );
  return {
    promptId: prompt.id,
    id: m.id,
    name: m.name,
    version: m.version,
    method: m.method,
    signature: judged.status,
    keyId: judged.keyId,
  };
}

export function verifyPack(store: Store, session: StoreSession, file: string): PackVerificationView {
  session.require('runs.read', 'verify a pack');
  let pack: OpenedPack;
  try {
    pack = readPack(readPackFile(file), file);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return {
      ok: false,
      file,
      intact: false,
      signature: null,
      keyId: null,
      name: null,
      version: null,
      problem: error.message,
    };
  }
  const judged = judgeSignature(pack, trustedSigners(store));
  const ok = judged.status === 'trusted';
  let problem: string | null = null;
  if (!ok)
    try {
      refuseUntrusted(file, judged);
    } catch (error) {
      problem = (error as Error).message;
    }
  return {
    ok,
    file,
    intact: judged.status !== 'invalid',
    signature: judged.status,
    keyId: judged.keyId,
    name: pack.manifest.name,
    version: pack.manifest.version,
    problem,
  };
}

export interface PackInspection {
  readonly manifest: PackManifest;
  /** Valid means the signature matches the manifest; whether its key is trusted needs the store (verify). */
  readonly signature: { readonly keyId: string; readonly valid: boolean; readonly publicKey: string } | null;
}

/** What a pack holds, read without the store: structure and checksums are checked. */
export function inspectPack(file: string): PackInspection {
  const pack = readPack(readPackFile(file), file);
  const sig = pack.signature;
  return {
    manifest: pack.manifest,
    signature: sig
      ? { keyId: sig.keyId, valid: signatureValid(pack.manifestBytes, sig), publicKey: sig.publicKey }
      : null,
  };
}

/** The packs exported from and imported into this store, every version. */
export function listPacks(store: Store, session: StoreSession): PackListing[] {
  session.require('runs.read', 'list packs');
  return store.prompts
    .list()
    .flatMap((p) => store.prompts.list(p.name))
    .filter((p) => typeof p.meta['packId'] === 'string')
    .map((p) => ({
      promptId: p.id,
      name: p.name,
      version: p.version,
      method: p.method,
      source: String(p.meta['source']),
      packId: String(p.meta['packId']),
      keyId: (p.meta['keyId'] as string | null | undefined) ?? null,
      trusted: p.meta['trusted'] === true,
      taskTypes: p.taskTypes,
      backboneFingerprint: p.backboneFingerprint,
      createdAt: p.createdAt,
    }));
}

// ---------------------------------------------------------------------------------------------
// signing keys
// ---------------------------------------------------------------------------------------------

export function listSigningKeys(store: Store, session: StoreSession): SigningKey[] {
  session.require('runs.read', 'list pack signing keys');
  return store.signingKeys.list();
}

/** Trusts a public key: base64 SPKI DER or PEM text, or a file holding either, or a pack whose signer it is. */
export function trustSigningKey(
  store: Store,
  session: StoreSession,
  request: { key: string; label: string },
): SigningKey {
  session.require('store.admin', 'trust a pack signing key');
  let text = request.key;
  if (existsSync(text) && statSync(text).isFile())
    text = isPackFile(text)
      ? (readPack(readPackFile(text, 'key'), text).signature?.publicKey ?? '')
      : readFileSync(text, 'utf8');
  const parsed = parsePublicKey(text);
  if (!parsed)
    throw new UserError('INVALID_ARGUMENT', 'is not an Ed25519 public key (base64 SPKI DER, PEM, or a signed pack).', {
      field: 'key',
    });
  return session.perform(
    'store.admin',
    'packs.key-trust',
    () => store.signingKeys.trust(parsed.keyId, parsed.der.toString('base64'), request.label, session.user.username),
    (k) => ({ objectType: 'signing-key', objectIds: [k.keyId], details: { label: k.label } }),
  );
}

export function removeSigningKey(store: Store, session: StoreSession, keyId: string): SigningKey {
  return session.perform(
    'store.admin',
    'packs.key-remove',
    () => store.signingKeys.remove(keyId, session.user.username),
    (k) => ({ objectType: 'signing-key', objectIds: [k.keyId] }),
  );
}

// ---------------------------------------------------------------------------------------------
// packs as adapters, and as PEFT folders
// ---------------------------------------------------------------------------------------------

/** What running a pack needs from the store: the trusted signers, and the packs it holds. */
export interface PackAccess {
  /** keyId -> public key (SPKI DER, base64) of the signers a pack file must be signed by. */
  readonly trusted: ReadonlyMap<string, string>;
  /** The bytes of a pack in the store, by name and store version (default: the newest). */
  stored(name: string, version?: number): Buffer;
}

export function packAccess(store: Store, session: StoreSession): PackAccess {
  session.require('prompts.run', 'run a prompt pack');
  return {
    trusted: trustedSigners(store),
    stored(name, version) {
      const versions = store.prompts.list(name).filter((p) => typeof p.meta['packId'] === 'string');
      const prompt = version === undefined ? versions.at(-1) : versions.find((p) => p.version === version);
      if (!prompt)
        throw new UserError(
          'NOT_FOUND',
          `The store holds no pack ${name}${version === undefined ? '' : ` version ${version}`} (see pack list).`,
          { field: 'adapter' },
        );
      return store.prompts.weights(prompt.id);
    },
  };
}

/** `--adapter pack:<name>[@<version>]`: a pack exported from or imported into the store. */
const STORED_PACK = /^pack:(.+?)(?:@(\d+))?$/;

/** A pack file or a pack in the store, rather than a folder. */
export function isPackAdapter(source: string): boolean {
  return isPackFile(source) || STORED_PACK.test(source);
}

/**
 * What `--adapter <source>` means: a run or PEFT folder (peft/run-folder.ts); a pack file, which
 * must be intact, signed by a trusted key and made for this backbone; or `pack:<name>[@version]`,
 * a pack in the store (trusted, or allowed by an admin, when it was imported: it is not judged
 * again, so removing a key does not stop packs already imported).
 */
export async function openAdapterSource(
  source: string,
  backbone: Backbone,
  options: { taskId?: number; packs?: () => Promise<PackAccess> } = {},
): Promise<{ backbone: Backbone; adapter?: PeftAdapter }> {
  const taskOption = options.taskId !== undefined ? { taskId: options.taskId } : {};
  const stored = STORED_PACK.exec(source);
  if (!stored && !isPackFile(source)) return openAdapter(source, backbone, taskOption);
  if (!options.packs)
    throw new UserError('UNSUPPORTED', 'A prompt pack needs the store (its trusted keys and packs) here.', {
      field: 'adapter',
    });
  const access = await options.packs();
  let pack: OpenedPack;
  if (stored) {
    pack = readPack(access.stored(stored[1]!, stored[2] === undefined ? undefined : Number(stored[2])), source);
  } else {
    pack = readPack(readPackFile(source, 'adapter'), source);
    const judged = judgeSignature(pack, access.trusted);
    if (judged.status !== 'trusted') refuseUntrusted(source, judged);
  }
  checkBackbone(source, pack.manifest, backbone);
  return { backbone, adapter: loadPackAdapter(pack, backbone.config, taskOption) };
}

/**
 * Writes a pack's adapter as a PEFT adapter folder for Python (PeftModel.from_pretrained): as it
 * is, or, for multitask prompt tuning, as a plain PROMPT_TUNING folder holding task `taskId`'s
 * prompt P* o (u v^T).
 */
export function writePackAsPeft(
  file: string,
  outDir: string,
  options: { promptTuning?: boolean; taskId?: number } = {},
): { dir: string; peftType: string } {
  const pack = readPack(readPackFile(file), file);
  if (existsSync(outDir)) throw new UserError('ALREADY_EXISTS', `${outDir} already exists.`, { field: 'out' });
  if (!options.promptTuning) {
    mkdirSync(outDir, { recursive: true });
    writeAdapterFolder(pack, outDir);
    return { dir: outDir, peftType: pack.manifest.peftType };
  }
  if (pack.manifest.peftType !== 'MULTITASK_PROMPT_TUNING')
    throw new UserError(
      'UNSUPPORTED',
      `applies to multitask prompt-tuning packs (this one is ${pack.manifest.peftType}).`,
      {
        field: 'promptTuning',
      },
    );
  const staging = mkdtempSync(path.join(os.tmpdir(), 'clinprompt-peft-'));
  try {
    writeAdapterFolder(pack, staging);
    writeMptAsPromptTuning(staging, outDir, options.taskId ?? 0);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { dir: outDir, peftType: 'PROMPT_TUNING' };
}

/**
 * A multitask pack in the store as the starting point of an adaptation (the Task step's "imported
 * pack"): its adapter written once, PHI-free, as a meta-prompt folder that `mpt` starts from.
 */
export function packAsMetaPrompt(
  store: Store,
  session: StoreSession,
  request: { name: string; version: number; dataDir: string },
): string {
  session.require('models.train', 'train a prompt');
  const prompt = store.prompts
    .list(request.name)
    .find((p) => p.version === request.version && typeof p.meta['packId'] === 'string');
  if (!prompt)
    throw new UserError('NOT_FOUND', `The store holds no pack ${request.name} version ${request.version}.`, {
      field: 'startPack',
    });
  const pack = readPack(store.prompts.weights(prompt.id), request.name);
  if (pack.manifest.peftType !== 'MULTITASK_PROMPT_TUNING')
    throw new UserError(
      'UNSUPPORTED',
      `${request.name} is a ${pack.manifest.peftType} pack; only a multitask prompt-tuning pack can be the starting point. Choose the shipped meta-prompt or start from scratch.`,
      { field: 'startPack' },
    );
  const dir = path.join(request.dataDir, 'starts', `${pack.manifest.id}-v${pack.manifest.version}`);
  if (!existsSync(dir)) {
    const staging = `${dir}.partial`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    writeAdapterFolder(pack, staging);
    renameSync(staging, dir);
  }
  return dir;
}
