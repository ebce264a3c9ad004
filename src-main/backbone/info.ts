/** A backbone folder summarised for `clinprompt backbone info` and the UI: what it is, what it needs. */
import { graphComputeDType } from './generate/runner.js';
import type { Backbone } from './load.js';
import type { ExecutionProvider, MemoryPlan } from './memory-plan.js';
import { availableCpuBytes, estimateMemory } from './memory-plan.js';

export interface BackboneInfo {
  readonly folder: string;
  readonly format: Backbone['format'];
  readonly architecture: string;
  readonly parameters: number;
  readonly weightDType: string;
  readonly layers: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly ropeScaling: string;
  readonly tiedEmbeddings: boolean;
  readonly safetensorsFiles: number;
  readonly fingerprint: string;
  /** Inference (generation, scoring) and prompt-tuning training at batch 1 over `contextTokens`. */
  readonly memory: {
    readonly provider: ExecutionProvider;
    readonly contextTokens: number;
    readonly plan: MemoryPlan;
    readonly training: MemoryPlan;
  };
  readonly availableBytes: number;
}

export function describeBackbone(
  b: Backbone,
  provider: ExecutionProvider = 'cpu',
  contextTokens?: number,
): BackboneInfo {
  const c = b.config;
  const context = Math.min(contextTokens ?? 2048, c.maxPositions);
  const request = { provider, weightDType: b.weightDType, batch: 1, contextTokens: context } as const;
  const plan = estimateMemory(c, { ...request, mode: 'inference', computeDType: graphComputeDType(provider) });
  const training = estimateMemory(c, { ...request, mode: 'training' });
  return {
    folder: b.sourceDir,
    format: b.format,
    architecture: c.architecture,
    parameters: b.parameters,
    weightDType: b.weightDType,
    layers: c.numLayers,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    vocabSize: c.vocabSize,
    maxPositions: c.maxPositions,
    ropeScaling: c.ropeScaling.type,
    tiedEmbeddings: c.tieWordEmbeddings,
    safetensorsFiles: b.weights.headers.length,
    fingerprint: b.fingerprint(),
    memory: { provider, contextTokens: context, plan, training },
    availableBytes: availableCpuBytes(),
  };
}
