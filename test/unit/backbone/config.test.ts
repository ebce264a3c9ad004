import { describe, expect, it } from 'vitest';

import { parameterCount, parseLlamaConfig } from '../../../src-main/backbone/hf/config.js';
import { ropeInverseFrequencies } from '../../../src-main/backbone/hf/rope.js';

// config.json of meta-llama/Llama-3.1-8B-Instruct (public, abridged to the fields transformers reads)
const LLAMA31_8B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 131072,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 128256,
};

describe('config.json parsing', () => {
  it('reads LLaMA 3.1 8B: GQA, llama3 rope scaling, untied embeddings, 8.03B parameters', () => {
    const c = parseLlamaConfig(LLAMA31_8B, 'config.json');
    expect(c).toMatchObject({
      architecture: 'llama',
      numKvHeads: 8,
      headDim: 128,
      tieWordEmbeddings: false,
      eosTokenIds: [128001, 128008, 128009],
    });
    expect(c.ropeScaling).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    expect(parameterCount(c)).toBe(8_030_261_248); // the published count of Llama 3.1 8B
  });

  it('applies llama3 rope scaling: long wavelengths divided by factor, short ones kept, a smooth band between', () => {
    const c = parseLlamaConfig(LLAMA31_8B, 'config.json');
    const scaled = ropeInverseFrequencies(c);
    const plain = ropeInverseFrequencies({ ...c, ropeScaling: { type: 'default' } });
    expect(scaled[0]).toBe(plain[0]); // wavelength 2*pi < 8192/4
    expect(scaled[63]).toBeCloseTo(plain[63]! / 8, 15); // wavelength > 8192
    const mid = scaled.findIndex((f, i) => f !== plain[i] && Math.abs(f - plain[i]! / 8) > 1e-12);
    expect(mid).toBeGreaterThan(0);
    expect(scaled[mid]! < plain[mid]! && scaled[mid]! > plain[mid]! / 8).toBe(true);
  });

  it('reads Qwen2 (q/k/v biases, tied embeddings) and Mistral', () => {
    const qwen = parseLlamaConfig(
      {
        architectures: ['Qwen2ForCausalLM'],
        model_type: 'qwen2',
        hidden_size: 896,
        intermediate_size: 4864,
        num_hidden_layers: 24,
        num_attention_heads: 14,
        num_key_value_heads: 2,
        vocab_size: 151936,
        tie_word_embeddings: true,
        rope_theta: 1000000,
        max_position_embeddings: 32768,
        rms_norm_eps: 1e-6,
      },
      'config.json',
    );
    expect(qwen).toMatchObject({ architecture: 'qwen2', attentionBias: true, tieWordEmbeddings: true, headDim: 64 });
    expect(parameterCount(qwen)).toBe(494_032_768); // Qwen2-0.5B
    const mistral = parseLlamaConfig(
      {
        architectures: ['MistralForCausalLM'],
        model_type: 'mistral',
        hidden_size: 4096,
        intermediate_size: 14336,
        num_hidden_layers: 32,
        num_attention_heads: 32,
        num_key_value_heads: 8,
        vocab_size: 32000,
        sliding_window: null,
      },
      'config.json',
    );
    expect(mistral).toMatchObject({ architecture: 'mistral', attentionBias: false, tieWordEmbeddings: false });
    expect(parameterCount(mistral)).toBe(7_241_732_096); // Mistral 7B
  });

  it('refuses other architectures with UNSUPPORTED and names them', () => {
    expect(() =>
      parseLlamaConfig({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }, '/m/config.json'),
    ).toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED',
        message: expect.stringMatching(/GPT2LMHeadModel.*LlamaForCausalLM/),
      }),
    );
    expect(() => parseLlamaConfig({ ...LLAMA31_8B, hidden_act: 'gelu' }, 'c.json')).toThrow(/hidden_act "gelu"/);
    expect(() => parseLlamaConfig({ ...LLAMA31_8B, rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'c.json')).toThrow(
      /rope_scaling type "yarn"/,
    );
  });

  it('refuses inconsistent or missing sizes with BAD_FILE', () => {
    expect(() => parseLlamaConfig({ ...LLAMA31_8B, num_key_value_heads: 5 }, 'c.json')).toThrow(
      /not a multiple of num_key_value_heads/,
    );
    const { hidden_size: _, ...noHidden } = LLAMA31_8B;
    expect(() => parseLlamaConfig(noHidden, 'c.json')).toThrow(
      expect.objectContaining({ code: 'BAD_FILE', message: expect.stringMatching(/"hidden_size"/) }),
    );
  });
});
