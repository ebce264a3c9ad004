/**
 * Runs the inference graph (inference-graph.ts) in one onnxruntime session: a forward step over
 * new positions with a KV cache, and the feeds it needs (positions, causal mask, picked logits).
 * Decoding strategies (decoding.ts) and candidate scoring (scoring.ts) are built on `step`.
 */
import type { ProviderChoice, ProviderName } from '../../engine/session.js';
import { computeDtypeFor, createSession, ort } from '../../engine/session.js';
import type { EngineSession } from '../../engine/session.js';
import { serialize } from '../../engine/serialize.js';
import type { LlamaConfig } from '../hf/config.js';
import { contextLimit } from '../hf/config.js';
import { widenBf16Tensors } from '../hf/widen.js';
import type { Backbone } from '../load.js';
import { conversionCacheDir } from '../load.js';
import { assertFits, availableCpuBytes, estimateMemory, plannedProvider } from '../memory-plan.js';
import type { ComputeDType, GraphAdapter } from './inference-graph.js';
import { buildInferenceGraph, PAST_KEY, PAST_VALUE, PRESENT_KEY, PRESENT_VALUE } from './inference-graph.js';

/** A soft prompt fed before the tokens: L virtual tokens x d (PEFT's prompt_embeddings). */
export interface SoftPrompt {
  readonly length: number;
  readonly embeddings: Float32Array; // (L, d)
}

/** Per layer key and value caches: (B, kv_heads, P, head_dim) each. */
export interface KvCache {
  readonly batch: number;
  readonly length: number; // P
  readonly keys: readonly ort.Tensor[];
  readonly values: readonly ort.Tensor[];
}

export interface StepInput {
  /** (B, T) token ids; every row the same length T. */
  readonly ids: readonly (readonly number[])[];
  /** Prepended before the ids at this step (usually only the first). */
  readonly prompt?: SoftPrompt | undefined;
  readonly past: KvCache;
  /** Which of this step's S = L + T positions get logits (same count K for every row); default: the last. */
  readonly logitPositions?: readonly (readonly number[])[];
}

export interface StepOutput {
  /** (B, K, vocab) */
  readonly logits: Float32Array;
  readonly picked: number; // K
  readonly present: KvCache;
}

export interface RunnerOptions {
  readonly provider?: ProviderChoice;
  readonly threads?: number;
  /** A method's change to the graph (e.g. LoRA), from peft/. */
  readonly adapter?: GraphAdapter;
  /** Longest sequence this runner will see, for the memory check (default: the model maximum, at most 2048). */
  readonly contextTokens?: number;
  readonly batch?: number;
  /** Skip the memory check (benchmarks that measure it themselves). */
  readonly skipMemoryCheck?: boolean;
  /** Memory the plan must fit in (default: free RAM; GPU callers pass their device memory). */
  readonly availableBytes?: number;
  /** Compute dtype (default: graphComputeDType(provider)). */
  readonly dtype?: ComputeDType;
}

/**
 * A graph's compute dtype for a provider choice (generation and training): float32 on CPU (and for
 * 'auto', which may fall back to it), float16 on a named GPU provider (half the weight, activation
 * and KV-cache memory), as the engine's computeDtypeFor says.
 */
export function graphComputeDType(provider: ProviderChoice | undefined): ComputeDType {
  return computeDtypeFor(plannedProvider(provider)) as ComputeDType;
}

const MASKED = -3.4028234663852886e38; // torch.finfo(float32).min, as transformers masks

export class BackboneRunner {
  private constructor(
    readonly backbone: Backbone,
    private readonly session: EngineSession,
    /** Compute dtype: also the KV cache's (float16 caches travel as Uint16Array bit patterns). */
    readonly dtype: ComputeDType,
  ) {}

  get config(): LlamaConfig {
    return this.backbone.config;
  }

  get provider(): ProviderName {
    return this.session.provider;
  }

  static async create(backbone: Backbone, options: RunnerOptions = {}): Promise<BackboneRunner> {
    const c = backbone.config;
    const dtype = options.dtype ?? graphComputeDType(options.provider);
    if (!options.skipMemoryCheck) {
      const request = {
        provider: plannedProvider(options.provider),
        weightDType: backbone.weightDType,
        batch: options.batch ?? 1,
        contextTokens: options.contextTokens ?? Math.min(contextLimit(c), 2048),
        mode: 'inference',
        computeDType: dtype,
      } as const;
      assertFits(
        estimateMemory(c, request),
        options.availableBytes ?? availableCpuBytes(),
        backbone.sourceDir,
        request,
      );
    }
    const tensors = widenBf16Tensors(backbone.tensors, backbone.weights, conversionCacheDir(), backbone.fingerprint());
    const { graph, outputs } = buildInferenceGraph(c, tensors, {
      dtype,
      ...(options.adapter && { adapter: options.adapter }),
    });
    const model = serialize(graph, outputs, { producer: 'clinprompt-backbone-inference' });
    const session = await createSession(model, {
      provider: options.provider ?? 'cpu',
      ...(options.threads !== undefined && { threads: options.threads }),
    });
    return new BackboneRunner(backbone, session, dtype);
  }

  emptyCache(batch: number): KvCache {
    const c = this.config;
    const dims = [batch, c.numKvHeads, 0, c.headDim];
    const empty = () =>
      this.dtype === 'float16'
        ? new ort.Tensor('float16', new Uint16Array(0), dims)
        : new ort.Tensor('float32', new Float32Array(0), dims);
    return {
      batch,
      length: 0,
      keys: Array.from({ length: c.numLayers }, empty),
      values: Array.from({ length: c.numLayers }, empty),
    };
  }

  async step(input: StepInput): Promise<StepOutput> {
    const c = this.config;
    const B = input.ids.length;
    const T = input.ids[0]!.length;
    if (input.ids.some((r) => r.length !== T)) throw new Error('step: every row needs the same number of tokens');
    if (B !== input.past.batch) throw new Error(`step: batch ${B} does not match the cache's ${input.past.batch}`);
    const L = input.prompt?.length ?? 0;
    const S = L + T;
    const P = input.past.length;
    if (P + S > contextLimit(c))
      throw new Error(`step: ${P + S} positions exceed the model's ${contextLimit(c)} (callers cap max tokens)`);
    const ids = BigInt64Array.from(input.ids.flat(), (v) => BigInt(v));
    const prefix = new Float32Array(B * L * c.hiddenSize);
    if (input.prompt) for (let b = 0; b < B; b++) prefix.set(input.prompt.embeddings, b * L * c.hiddenSize);
    // positions continue from the cache; causal mask over cache + new positions
    const positions = new BigInt64Array(B * S);
    const mask = new Float32Array(B * S * (P + S));
    for (let b = 0; b < B; b++)
      for (let s = 0; s < S; s++) {
        positions[b * S + s] = BigInt(P + s);
        const row = (b * S + s) * (P + S);
        mask.fill(MASKED, row + P + s + 1, row + P + S);
      }
    const picks = input.logitPositions ?? input.ids.map(() => [S - 1]);
    const K = picks[0]!.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
      prefix_embeds: new ort.Tensor('float32', prefix, [B, L, c.hiddenSize]),
      position_ids: new ort.Tensor('int64', positions, [B, S]),
      attention_mask: new ort.Tensor('float32', mask, [B, 1, S, P + S]),
      logit_positions: new ort.Tensor(
        'int64',
        BigInt64Array.from(picks.flat(), (v) => BigInt(v)),
        [B, K],
      ),
    };
    for (let i = 0; i < c.numLayers; i++) {
      feeds[PAST_KEY(i)] = input.past.keys[i]!;
      feeds[PAST_VALUE(i)] = input.past.values[i]!;
    }
    const out = await this.session.run(feeds);
    const layers = Array.from({ length: c.numLayers }, (_, i) => i);
    return {
      logits: out['logits']!.data as Float32Array,
      picked: K,
      present: {
        batch: B,
        length: P + S,
        keys: layers.map((i) => out[PRESENT_KEY(i)]!),
        values: layers.map((i) => out[PRESENT_VALUE(i)]!),
      },
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
