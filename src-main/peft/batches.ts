/**
 * Training examples as token ids, and the batches the trainer feeds. An example is a prompt and
 * its target text (framed by the task, e.g. "...Answer:" and " yes"); the target's tokens are the
 * tail of tokenize(prompt + target) after tokenize(prompt), as closed-label scoring takes them
 * (generate/scoring.ts), followed by the end-of-sequence token, so that generation learns to stop.
 * Only target positions carry loss.
 *
 * Order: each epoch shuffles the examples with a generator seeded by (seed, epoch). With length
 * grouping, groups of 16 batches are sorted by length (less padding) and the batches shuffled;
 * it is off by default because in closed-label tasks the target's length follows the label, so
 * sorted batches hold one label each and the model learns to flip between them. Nothing else is
 * random, so a resumed run recomputes exactly the batches an unbroken run would see.
 */
import { ort } from '../engine/index.js';
import { seededRandom, shuffled } from '../common/random.js';
import { cutMiddle } from '../backbone/generate/context-fit.js';

/** One example as plain values: the framed prompt and the target text that continues it. */
export interface TrainingText {
  readonly prompt: string;
  readonly target: string;
}

export interface TokenizedExample {
  readonly ids: readonly number[];
  /** Index of the first target token in `ids`. */
  readonly targetStart: number;
}

export interface Tokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

/**
 * Tokenizes examples; an example longer than maxLength keeps at most half of it for the target
 * and loses the middle of its prompt. Returns how many were cut.
 */
export function tokenizeExamples(
  tokenizer: Tokenizer,
  eosId: number,
  texts: readonly TrainingText[],
  maxLength: number,
): { examples: TokenizedExample[]; truncated: number } {
  let truncated = 0;
  const examples = texts.map(({ prompt, target }) => {
    const promptIds = tokenizer.encode(prompt);
    const whole = tokenizer.encode(prompt + target);
    let shared = 0;
    while (shared < promptIds.length && whole[shared] === promptIds[shared]) shared++;
    let head = promptIds.slice(0, shared);
    let answer = [...whole.slice(shared), eosId];
    if (head.length + answer.length > maxLength) {
      truncated++;
      answer = answer.slice(0, Math.min(answer.length, Math.floor(maxLength / 2)));
      head = cutMiddle(head, maxLength - answer.length);
    }
    return { ids: [...head, ...answer], targetStart: head.length };
  });
  return { examples, truncated };
}

/** The batches of one epoch, as lists of example indices. */
export function epochBatches(
  lengths: readonly number[],
  batchSize: number,
  seed: number,
  epoch: number,
  groupByLength = false,
): number[][] {
  const random = seededRandom((seed * 1_000_003 + epoch * 7_919) >>> 0);
  const order = shuffled(
    lengths.map((_, i) => i),
    random,
  );
  const batches: number[][] = [];
  if (!groupByLength) {
    for (let k = 0; k < order.length; k += batchSize) batches.push(order.slice(k, k + batchSize));
    return batches;
  }
  const group = batchSize * 16;
  for (let start = 0; start < order.length; start += group) {
    const chunk = order.slice(start, start + group).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    for (let k = 0; k < chunk.length; k += batchSize) batches.push(chunk.slice(k, k + batchSize));
  }
  return shuffled(batches, random);
}

export interface Batch {
  readonly feeds: Record<string, ort.Tensor>;
  readonly batch: number;
  readonly tokens: number;
  /** Real (non-padding) tokens. */
  readonly realTokens: number;
}

/** Right-padded ids, next-token targets, the loss mask over target positions and the padding mask. */
export function collate(examples: readonly TokenizedExample[], indices: readonly number[], padId: number): Batch {
  const batch = indices.length;
  const tokens = Math.max(...indices.map((i) => examples[i]!.ids.length));
  const ids = new BigInt64Array(batch * tokens).fill(BigInt(padId));
  const targets = new BigInt64Array(batch * tokens).fill(-100n);
  const lossMask = new Float32Array(batch * tokens);
  const attention = new BigInt64Array(batch * tokens);
  let realTokens = 0;
  indices.forEach((i, row) => {
    const ex = examples[i]!;
    const base = row * tokens;
    ex.ids.forEach((id, k) => {
      ids[base + k] = BigInt(id);
      attention[base + k] = 1n;
      // position k predicts token k + 1; loss where that token is part of the target
      if (k + 1 < ex.ids.length && k + 1 >= ex.targetStart) {
        targets[base + k] = BigInt(ex.ids[k + 1]!);
        lossMask[base + k] = 1;
      }
    });
    realTokens += ex.ids.length;
  });
  const shape = [batch, tokens];
  return {
    feeds: {
      input_ids: new ort.Tensor('int64', ids, shape),
      attention_mask: new ort.Tensor('int64', attention, shape),
      targets: new ort.Tensor('int64', targets, shape),
      loss_mask: new ort.Tensor('float32', lossMask, shape),
    },
    batch,
    tokens,
    realTokens,
  };
}
