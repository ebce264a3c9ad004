/** Messages between the trainer's thread and an optimizer thread (optimizer.ts, adamw-worker.ts). */
import type { AdamWStepScalars } from './adamw.js';

/**
 * A gradient's memory: transferred, or shared (a buffer the training step reuses every step, so
 * that it is not a fresh allocation whose first touch costs page faults; never transferred).
 */
export type GradientBuffer = ArrayBuffer | SharedArrayBuffer;

/** The buffers of a message that move by transfer: shared ones stay with both threads. */
export const transferable = (buffers: readonly GradientBuffer[]): ArrayBuffer[] =>
  buffers.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);

export type ToOptimizerThread =
  /** This step's gradients of the thread's tensors (kept until 'update'). */
  | { readonly kind: 'norm'; readonly grads: readonly { readonly name: string; readonly grad: GradientBuffer }[] }
  /** Update (or, with apply false, only hand back) the thread's tensors; every buffer comes back. */
  | {
      readonly kind: 'update';
      readonly apply: boolean;
      readonly tensors: readonly {
        readonly name: string;
        readonly param: ArrayBuffer;
        readonly m: ArrayBuffer;
        readonly v: ArrayBuffer;
        readonly scalars: AdamWStepScalars;
      }[];
    };

export type FromOptimizerThread =
  | { readonly kind: 'norm'; readonly sums: readonly { readonly name: string; readonly sumOfSquares: number }[] }
  | {
      readonly kind: 'updated';
      readonly tensors: readonly {
        readonly name: string;
        readonly param: ArrayBuffer;
        readonly m: ArrayBuffer;
        readonly v: ArrayBuffer;
        readonly grad: GradientBuffer;
      }[];
    }
  | { readonly kind: 'failed'; readonly message: string };
