/**
 * The pack's manifest (manifest.json) and signature (signature.json), as docs/prompt-pack.md
 * specifies them. The manifest lists every other member with its SHA-256; the signature is
 * Ed25519 (RFC 8032, node:crypto) over the manifest's exact bytes, so it covers every member.
 */
import { createHash, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { z } from 'zod';

import { TASK_TYPES } from '../common/vocabulary.js';

export const PACK_FORMAT = 'clinprompt-pack';
/** Bump when a reader of the previous version would misread a pack; older readers then refuse it. */
export const PACK_FORMAT_VERSION = 1;
export const PACK_EXTENSION = '.cpack';
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'signature.json';
/** The manifest and signature are small: anything larger is not one of ours. */
export const MANIFEST_MAX_BYTES = 1024 * 1024;

export const PACK_METHODS = ['pt', 'lora', 'mpt', 'mpt-distill'] as const;
export const PEFT_TYPES = ['PROMPT_TUNING', 'MULTITASK_PROMPT_TUNING', 'LORA'] as const;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256');
const Name = z.string().min(1).max(200);
const Count = z.number().int().nonnegative();

export const ManifestSchema = z
  .object({
    format: z.literal(PACK_FORMAT),
    formatVersion: z.literal(PACK_FORMAT_VERSION),
    id: z.uuid(),
    name: Name,
    version: z.number().int().positive(),
    method: z.enum(PACK_METHODS),
    peftType: z.enum(PEFT_TYPES),
    /** One task for pt/lora/mpt; the source tasks, in the order of the task factors, for mpt-distill. */
    tasks: z
      .array(
        z
          .object({
            name: Name,
            type: z.enum(TASK_TYPES),
            labels: z.array(z.string().max(200)).max(1000),
            template: z.string().max(20_000),
          })
          .strict(),
      )
      .min(1)
      .max(256),
    /** Metrics with the data they were measured on: names and sizes, never examples. */
    metrics: z.array(
      z
        .object({
          split: Name,
          dataset: Name,
          examples: Count.nullable(),
          values: z.record(Name, z.number()),
        })
        .strict(),
    ),
    data: z.array(z.object({ name: Name, train: Count, dev: Count }).strict()),
    trainableParameters: Count,
    trainableShare: z.number().min(0).max(1),
    hyperparameters: z
      .object({ settings: z.record(z.string(), z.unknown()), train: z.record(z.string(), z.unknown()) })
      .strict(),
    backbone: z
      .object({ name: Name, fingerprint: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<hex>'), parameters: Count })
      .strict(),
    creator: z.object({ user: Name, keyId: z.string().regex(/^[0-9a-f]{32}$/) }).strict(),
    createdAt: z.iso.datetime(),
    members: z.record(Name, z.object({ sha256: Sha256, bytes: Count }).strict()),
  })
  .strict();
export type PackManifest = z.infer<typeof ManifestSchema>;

export const SignatureSchema = z
  .object({
    algorithm: z.literal('ed25519'),
    keyId: z.string().regex(/^[0-9a-f]{32}$/),
    /** The signer's public key, SPKI DER in base64. */
    publicKey: z.string().max(200),
    /** Ed25519 over manifest.json's bytes, base64. */
    signature: z.string().max(200),
  })
  .strict();
export type PackSignature = z.infer<typeof SignatureSchema>;

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A key's id: the first 128 bits of the SHA-256 of its SPKI DER encoding, hex. */
export function keyIdOf(publicKeyDer: Uint8Array): string {
  return sha256Hex(publicKeyDer).slice(0, 32);
}

export function publicKeyBase64(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

export function signManifest(manifestBytes: Uint8Array, privateKey: KeyObject, publicKey: KeyObject): PackSignature {
  const der = key(publicKey);
  return {
    algorithm: 'ed25519',
    keyId: keyIdOf(der),
    publicKey: der.toString('base64'),
    signature: edSign(null, manifestBytes, privateKey).toString('base64'),
  };
}

/** True when `signature` is a valid Ed25519 signature of `manifestBytes` by the key it names. */
export function signatureValid(manifestBytes: Uint8Array, signature: PackSignature): boolean {
  try {
    const der = Buffer.from(signature.publicKey, 'base64');
    if (keyIdOf(der) !== signature.keyId) return false;
    const publicKey = createPublicKey({ key: der, format: 'der', type: 'spki' });
    if (publicKey.asymmetricKeyType !== 'ed25519') return false;
    return edVerify(null, manifestBytes, publicKey, Buffer.from(signature.signature, 'base64'));
  } catch {
    return false; // a malformed key or signature is simply not a valid signature
  }
}

/** Parses a public key given as base64 SPKI DER or PEM; undefined when it is not an Ed25519 key. */
export function parsePublicKey(text: string): { der: Buffer; keyId: string } | undefined {
  try {
    const trimmed = text.trim();
    const keyObject = trimmed.startsWith('-----BEGIN')
      ? createPublicKey(trimmed)
      : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
    if (keyObject.asymmetricKeyType !== 'ed25519') return undefined;
    const der = key(keyObject);
    return { der, keyId: keyIdOf(der) };
  } catch {
    return undefined;
  }
}

const key = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
