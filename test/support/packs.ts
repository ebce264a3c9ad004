/**
 * Prompt-pack fixtures: run folders made by hand (a PEFT adapter with seeded tensors and the
 * run.json a training run writes, for the tiny backbone), and the corruptions the pack fuzz test
 * and its benchmark apply (bytes, truncation, member swaps, manifest edits, hostile containers).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { unzipSync, zipSync } from 'fflate';

import type { Backbone } from '../../src-main/backbone/load.js';
import { seededRandom } from '../../src-main/common/random.js';
import { loraAName, loraBName, writePeftAdapter } from '../../src-main/peft/adapter-folder.js';
import { RUN_FILE, type RunRecord } from '../../src-main/peft/run-folder.js';
import type { Store } from '../../src-main/store/store.js';

export type FixtureMethod = 'pt' | 'mpt-distill' | 'lora';

/** A run folder as `clinprompt train` leaves it, without training (tensors are seeded noise). */
export function writeFakeRun(
  dir: string,
  backbone: Backbone,
  method: FixtureMethod,
  options: { template?: string; labels?: string[]; dataName?: string; seed?: number } = {},
): void {
  mkdirSync(dir, { recursive: true });
  const c = backbone.config;
  const d = c.hiddenSize;
  const L = 4;
  const random = seededRandom(options.seed ?? 7);
  const noise = (n: number) => Float32Array.from({ length: n }, () => random() - 0.5);
  const common = {
    base_model_name_or_path: 'tiny',
    num_attention_heads: c.numHeads,
    num_layers: c.numLayers,
    num_transformer_submodules: 1,
    num_virtual_tokens: L,
    task_type: 'CAUSAL_LM',
    token_dim: d,
  };
  let trainable: number;
  if (method === 'pt') {
    writePeftAdapter(dir, { ...common, peft_type: 'PROMPT_TUNING', prompt_tuning_init: 'RANDOM' }, [
      { name: 'prompt_embeddings', shape: [L, d], data: noise(L * d) },
    ]);
    trainable = L * d;
  } else if (method === 'mpt-distill') {
    const tasks = 2;
    const r = 2;
    writePeftAdapter(
      dir,
      { ...common, num_ranks: r, num_tasks: tasks, peft_type: 'MULTITASK_PROMPT_TUNING', prompt_tuning_init: 'RANDOM' },
      [
        { name: 'prompt_embeddings', shape: [L, d], data: noise(L * d) },
        { name: 'prefix_task_cols', shape: [tasks, L, r], data: noise(tasks * L * r) },
        { name: 'prefix_task_rows', shape: [tasks, r, d], data: noise(tasks * r * d) },
      ],
    );
    trainable = L * d + tasks * (L * r + r * d);
  } else {
    const r = 2;
    const modules = Array.from({ length: c.numLayers }, (_, i) => `model.layers.${i}.self_attn.q_proj`);
    const out = c.numHeads * c.headDim;
    writePeftAdapter(
      dir,
      {
        base_model_name_or_path: 'tiny',
        bias: 'none',
        fan_in_fan_out: false,
        lora_alpha: 4,
        lora_dropout: 0,
        peft_type: 'LORA',
        r,
        target_modules: ['q_proj'],
        task_type: 'CAUSAL_LM',
        use_dora: false,
        use_rslora: false,
      },
      modules.flatMap((m) => [
        { name: loraAName(m), shape: [r, d], data: noise(r * d) },
        { name: loraBName(m), shape: [out, r], data: noise(out * r) },
      ]),
    );
    trainable = modules.length * (r * d + out * r);
  }
  const task = {
    type: 'nli',
    labels: options.labels ?? ['entailment', 'neutral', 'contradiction'],
    ...(options.template !== undefined && { template: options.template }),
  };
  const name = options.dataName ?? 'nli-demo';
  const record: RunRecord = {
    method,
    settings: method === 'pt' ? { promptLength: L, init: 'random' } : { rank: 2 },
    train: { steps: 3, lr: 0.01, batchSize: 4, seed: 42 },
    trainableParameters: trainable,
    trainableShare: trainable / backbone.parameters,
    backbone: { name: 'tiny', fingerprint: backbone.fingerprint(), parameters: backbone.parameters },
    data: {
      name: method === 'mpt-distill' ? `${name}+${name}-2` : name,
      version: '1',
      task: method === 'mpt-distill' ? [task, task] : task,
      train: 24,
      dev: 8,
    },
    ...(method === 'mpt-distill' && {
      tasks: [
        { name, train: 12, parts: { first: {}, last: {} } },
        { name: `${name}-2`, train: 12, parts: { first: {}, last: {} } },
      ],
    }),
    seed: 42,
    provider: 'cpu',
    steps: 3,
    totalSteps: 3,
    resumedFromStep: 0,
    stoppedEarly: false,
    truncatedExamples: 0,
    tokensSeen: 100,
    wallSeconds: 1,
    firstLoss: 2,
    lastLoss: 1,
    losses: [2, 1.5, 1],
    evaluations: [],
    metrics: { dev: { accuracy: 0.5 } },
    bestStep: null,
  };
  writeFileSync(path.join(dir, RUN_FILE), JSON.stringify(record, null, 2));
}

// ---------------------------------------------------------------------------------------------
// corruptions
// ---------------------------------------------------------------------------------------------

export const CORRUPTIONS = [
  'flip-bytes',
  'truncate',
  'swap-members',
  'rename-member',
  'edit-manifest',
  'drop-member',
  'extra-member',
  'traversal',
  'bomb',
] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

const rezip = (members: Record<string, Uint8Array>, level: 0 | 9 = 0) =>
  Buffer.from(zipSync(Object.fromEntries(Object.entries(members).map(([k, v]) => [k, [v, { level }]]))));

/** Case `i` of the fuzz: a corruption of `pack` chosen and parameterised by the seeded generator. */
export function corruptPack(pack: Buffer, i: number): { kind: Corruption; bytes: Buffer } {
  const random = seededRandom(1000 + i);
  const int = (n: number) => Math.floor(random() * n);
  const kind = CORRUPTIONS[i % CORRUPTIONS.length]!;
  const members = unzipSync(pack);
  const names = Object.keys(members);
  switch (kind) {
    case 'flip-bytes': {
      const bytes = Buffer.from(pack);
      for (let k = 0, n = 1 + int(8); k < n; k++) {
        const at = int(bytes.length);
        bytes.writeUInt8(bytes.readUInt8(at) ^ (1 + int(255)), at);
      }
      return { kind, bytes };
    }
    case 'truncate':
      return { kind, bytes: pack.subarray(0, int(pack.length)) };
    case 'swap-members': {
      const a = names[int(names.length)]!;
      const b = names[(names.indexOf(a) + 1 + int(names.length - 1)) % names.length]!;
      return { kind, bytes: rezip({ ...members, [a]: members[b]!, [b]: members[a]! }) };
    }
    case 'rename-member': {
      const a = names[int(names.length)]!;
      const { [a]: data, ...rest } = members;
      return { kind, bytes: rezip({ ...rest, [`${a}.bak`]: data! }) };
    }
    case 'edit-manifest': {
      const manifest = JSON.parse(Buffer.from(members['manifest.json']!).toString('utf8')) as Record<string, unknown>;
      const edits: ((m: Record<string, unknown>) => void)[] = [
        (m) => (m['version'] = Number(m['version']) + 1),
        (m) => (m['formatVersion'] = 2 + int(5)),
        (m) => (m['name'] = `${String(m['name'])}-x`),
        (m) => (m['backbone'] = { ...(m['backbone'] as object), fingerprint: 'f'.repeat(64) }),
        (m) => (m['trainableShare'] = random()),
        (m) => delete m['members'],
        (m) => (m['extra'] = 'field'),
        (m) => (m['id'] = '00000000-0000-4000-8000-000000000000'),
        (m) => ((m['tasks'] as { template: string }[])[0]!.template = 'Patient Mr. Jones'),
      ];
      edits[int(edits.length)]!(manifest);
      return { kind, bytes: rezip({ ...members, 'manifest.json': Buffer.from(JSON.stringify(manifest)) }) };
    }
    case 'drop-member': {
      const a = names[int(names.length)]!;
      const { [a]: _dropped, ...rest } = members;
      return { kind, bytes: rezip(rest) };
    }
    case 'extra-member':
      return { kind, bytes: rezip({ ...members, 'notes.txt': Buffer.from('an extra file') }) };
    case 'traversal': {
      const a = names[int(names.length)]!;
      const { [a]: data, ...rest } = members;
      const hostile = ['../' + a, '/etc/' + a, 'sub/' + a, '..\\' + a, 'C:' + a][int(5)]!;
      return { kind, bytes: rezip({ ...rest, [hostile]: data! }) };
    }
    case 'bomb':
      // ~4 MB of zeros deflate to a few kB: a compression ratio no tensor file has
      return { kind, bytes: rezip({ ...members, 'adapter_model.safetensors': new Uint8Array(4 << 20) }, 9) };
  }
}

/** Everything a refused import must leave alone: row counts, the audit head, the blob files. */
export function storeSnapshot(s: Store): string {
  const count = (table: string) => s.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
  let blobs = '';
  try {
    blobs = readdirSync(s.paths.blobsDir).sort().join(',');
  } catch {
    // no blob file yet
  }
  return JSON.stringify({
    tables: ['prompts', 'pack_exports', 'blobs', 'signing_keys', 'audit_log'].map(count),
    head: s.db.prepare('SELECT max(seq) FROM audit_log').pluck().get(),
    blobs,
  });
}
