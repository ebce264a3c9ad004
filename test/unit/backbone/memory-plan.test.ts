import { describe, expect, it } from 'vitest';

import { parseLlamaConfig } from '../../../src-main/backbone/hf/config.js';
import { assertFits, estimateMemory } from '../../../src-main/backbone/memory-plan.js';
import { TINY_CONFIG } from '../../support/tiny-llama.js';

const LLAMA_8B = parseLlamaConfig(
  {
    architectures: ['LlamaForCausalLM'],
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    vocab_size: 128256,
  },
  'config.json',
);
const GiB = 1024 ** 3;

describe('memory planning', () => {
  it('widens 16-bit weights to float32 on CPU and keeps them 16-bit on GPU providers', () => {
    const req = { weightDType: 'BF16', batch: 1, contextTokens: 2048, mode: 'inference' } as const;
    const cpu = estimateMemory(LLAMA_8B, { ...req, provider: 'cpu' });
    const gpu = estimateMemory(LLAMA_8B, { ...req, provider: 'webgpu' });
    expect(cpu.weightsBytes / GiB).toBeCloseTo(29.9, 1); // 8.03e9 x 4 bytes
    expect(gpu.weightsBytes).toBe(cpu.weightsBytes / 2);
    // KV cache: 2 x 32 layers x 8 kv heads x 128 x 2048 tokens x 2 bytes = 256 MiB
    expect(gpu.kvCacheBytes).toBe(256 * 1024 ** 2);
    expect(cpu.totalBytes).toBe(cpu.weightsBytes + cpu.activationBytes + cpu.kvCacheBytes + cpu.overheadBytes);
  });

  it('grows activations with the number of layers when training', () => {
    const req = { provider: 'cpu', weightDType: 'F32', batch: 4, contextTokens: 256 } as const;
    const inf = estimateMemory(TINY_CONFIG, { ...req, mode: 'inference' });
    const train = estimateMemory(TINY_CONFIG, { ...req, mode: 'training' });
    expect(train.activationBytes).toBeGreaterThan(inf.activationBytes * 1.5);
  });

  it("full fine-tuning layer by layer counts no frozen weights and keeps one layer's activations, not all", () => {
    const req = { provider: 'cpu', weightDType: 'BF16', batch: 4, contextTokens: 512, mode: 'training' } as const;
    const full = { ...req, trainableParameters: 8_030_261_248 };
    const oneGraph = estimateMemory(LLAMA_8B, full);
    const layerwise = estimateMemory(LLAMA_8B, { ...full, layerwise: true });
    expect(layerwise.weightsBytes).toBe(0);
    expect(layerwise.optimizerBytes).toBe(oneGraph.optimizerBytes);
    // one graph: 32 layers' saved values; layer by layer: each layer's input (4 x 512 x 4096 x 4 bytes) and one layer
    const perLayer = 4 * 512 * (4 * 4096 + 3 * 14336) * 4 + 4 * 32 * 512 * 512 * 4;
    const logits = 4 * 512 * 128256 * 4;
    expect(oneGraph.activationBytes).toBe(32 * perLayer + 2 * logits);
    expect(layerwise.activationBytes).toBe(32 * 4 * 512 * 4096 * 4 + perLayer + 2 * logits);
    expect(layerwise.totalBytes).toBeLessThan(oneGraph.totalBytes - oneGraph.weightsBytes);
  });

  it('refuses a plan that does not fit, saying how much is needed and what to change', () => {
    const req = { provider: 'cpu', weightDType: 'BF16', batch: 1, contextTokens: 4096, mode: 'inference' } as const;
    const plan = estimateMemory(LLAMA_8B, req);
    expect(() => assertFits(plan, 16 * GiB, '/models/llama-3.1-8b', req)).toThrow(
      expect.objectContaining({
        code: 'OUT_OF_MEMORY',
        message: expect.stringMatching(
          /\/models\/llama-3\.1-8b needs about \d+\.\d\d GiB on cpu .* only 16\.00 GiB is available\. Use a smaller batch/,
        ),
      }),
    );
    expect(() => assertFits(plan, 64 * GiB, 'x', req)).not.toThrow();
  });

  it('full fine-tuning counts gradients and AdamW moments of every weight, and is refused up front', () => {
    const req = { provider: 'cuda', weightDType: 'BF16', batch: 1, contextTokens: 512, mode: 'training' } as const;
    const lora = estimateMemory(LLAMA_8B, { ...req, trainableParameters: 3_407_872 });
    const full = estimateMemory(LLAMA_8B, { ...req, trainableParameters: 8_030_261_248 });
    expect(lora.optimizerBytes / GiB).toBeLessThan(0.1);
    expect(full.optimizerBytes / GiB).toBeCloseTo(119.7, 1); // 8.03e9 x (value + gradient + 2 moments) x 4 bytes
    expect(() =>
      assertFits(full, 80 * GiB, '/models/llama-3.1-8b', { ...req, trainableParameters: 8_030_261_248 }),
    ).toThrow(
      expect.objectContaining({
        code: 'OUT_OF_MEMORY',
        message: expect.stringMatching(/gradients and optimizer state 119\.\d\d GiB.*--batch-size.*\(pt, lora\)/),
      }),
    );
  });
});
