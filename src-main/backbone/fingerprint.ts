/**
 * The backbone fingerprint that prompt packs carry: a prompt trained on one backbone is only valid
 * on the very same weights. SHA-256 over (1) the parsed config, (2) every tensor header (name,
 * dtype, shape, byte length) in name order, and (3) sampled weight bytes: SAMPLES_PER_TENSOR
 * windows of SAMPLE_BYTES at fixed relative positions of each tensor. Reading samples rather than
 * all bytes keeps it quick on an 8B model (about 300 tensors x 4 small reads) while any re-export,
 * fine-tune, quantization or truncation changes it.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

import { canonicalJson } from '../common/canonical-json.js';
import type { LlamaConfig } from './hf/config.js';
import type { TensorEntry } from './hf/safetensors.js';

const FORMAT = 'clinprompt-backbone-fingerprint-v1';
const SAMPLES_PER_TENSOR = 4;
const SAMPLE_BYTES = 64;

/**
 * The config fields that define the computed function, listed explicitly so that a new
 * informational field in LlamaConfig does not change every fingerprint (that takes a new FORMAT).
 */
function fingerprintedConfig(c: LlamaConfig): Record<string, unknown> {
  return {
    architecture: c.architecture,
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    rmsNormEps: c.rmsNormEps,
    ropeTheta: c.ropeTheta,
    ropeScaling: c.ropeScaling,
    tieWordEmbeddings: c.tieWordEmbeddings,
    attentionBias: c.attentionBias,
    slidingWindow: c.slidingWindow ?? null,
  };
}

export function backboneFingerprint(config: LlamaConfig, tensors: Iterable<TensorEntry>): string {
  const hash = createHash('sha256');
  hash.update(FORMAT).update(canonicalJson(fingerprintedConfig(config)));
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const fds = new Map<string, number>();
  try {
    for (const t of sorted) {
      hash.update(canonicalJson({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.byteLength }));
      let fd = fds.get(t.file);
      if (fd === undefined) fds.set(t.file, (fd = openSync(t.file, 'r')));
      const window = Math.min(SAMPLE_BYTES, t.byteLength);
      const buf = Buffer.alloc(window);
      for (let s = 0; s < SAMPLES_PER_TENSOR; s++) {
        // positions 0, 1/3, 2/3 and the last window of the tensor
        const at = Math.floor(((t.byteLength - window) * s) / (SAMPLES_PER_TENSOR - 1));
        const n = readSync(fd, buf, 0, window, t.offset + at);
        hash.update(buf.subarray(0, n));
      }
    }
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  return `sha256:${hash.digest('hex')}`;
}
