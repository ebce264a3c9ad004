/**
 * Rotary position embedding frequencies, as transformers/modeling_rope_utils.py computes them
 * (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
 * `_compute_llama3_parameters`), and the cos/sin tables for HF's half-rotated layout
 * (`rotate_half`: dimension i pairs with i + head_dim/2).
 */
import type { LlamaConfig } from './config.js';

/** inv_freq: (head_dim/2) */
export function ropeInverseFrequencies(c: Pick<LlamaConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / c.ropeTheta ** ((2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (s.type === 'linear') for (let i = 0; i < half; i++) inv[i] = inv[i]! / s.factor;
  if (s.type === 'llama3') {
    const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowFreqWavelen) inv[i] = f / s.factor;
      else if (wavelen >= highFreqWavelen) {
        // medium frequencies: interpolate between scaled and unscaled
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
  }
  return inv;
}

/**
 * cos and sin tables: (positions, head_dim), each row [cos(p*f_0..f_{h-1}), cos(p*f_0..f_{h-1})]
 * (the frequencies repeated for both halves, as `emb = torch.cat((freqs, freqs), dim=-1)`).
 */
export function ropeTables(
  c: Pick<LlamaConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>,
  positions: number,
): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInverseFrequencies(c);
  const half = c.headDim / 2;
  const cos = new Float32Array(positions * c.headDim);
  const sin = new Float32Array(positions * c.headDim);
  for (let p = 0; p < positions; p++)
    for (let i = 0; i < half; i++) {
      // torch computes freqs in float32: position * inv_freq(float32)
      const angle = Math.fround(p * Math.fround(inv[i]!));
      const c0 = Math.cos(angle);
      const s0 = Math.sin(angle);
      cos[p * c.headDim + i] = c0;
      cos[p * c.headDim + i + half] = c0;
      sin[p * c.headDim + i] = s0;
      sin[p * c.headDim + i + half] = s0;
    }
  return { cos, sin };
}
