/**
 * The optimizer step (gradient norm, then AdamW), spread over threads where it pays: while
 * onnxruntime's pool sits idle between steps, the update of millions of weights (full fine-tuning)
 * is the step's single-threaded tail (1.7 s of a 5 s step of the dim 1024 x 12 model). The
 * tensors are split once, by size, between this thread and `threads - 1` optimizer threads
 * (adamw-worker.ts); each step their buffers move to their thread and back by transfer (no copy),
 * so onnxruntime still gets plain ArrayBuffers.
 *
 * The result does not depend on the thread count: every tensor is updated by the same kernel, and
 * the norm adds per-tensor sums of squares in the trainables' order wherever they were summed.
 */
import type { Worker } from 'node:worker_threads';

import { siblingEntryUrl, startWorkerThread } from '../../common/worker-thread.js';
import type { AdamWSettings, AdamWState } from './adamw.js';
import { adamWKernel, adamWScalars, sumOfSquares } from './adamw.js';
import {
  transferable,
  type FromOptimizerThread,
  type GradientBuffer,
  type ToOptimizerThread,
} from './adamw-protocol.js';

/** Below this many trainable values one thread is faster than handing buffers around. */
export const THREADED_OPTIMIZER_MIN_VALUES = 4_000_000;

/** The buffer of a view that covers all of it (transferable without taking neighbours along), else a copy's. */
function ownBuffer(a: Float32Array): Float32Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer
    ? a
    : new Float32Array(a);
}

/** A gradient's buffer for an optimizer thread: shared as it is, else owned whole (transferable). */
function gradientBuffer(g: Float32Array): GradientBuffer {
  return g.buffer instanceof SharedArrayBuffer && g.byteOffset === 0 && g.byteLength === g.buffer.byteLength
    ? g.buffer
    : (ownBuffer(g).buffer as ArrayBuffer);
}

/** Names split into `groups` lists of about equal total size (largest first, each to the lightest group). */
export function splitBySize(sizes: readonly (readonly [string, number])[], groups: number): string[][] {
  const lists: string[][] = Array.from({ length: groups }, () => []);
  const totals = new Array<number>(groups).fill(0);
  const order = [...sizes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [name, size] of order) {
    const lightest = totals.indexOf(Math.min(...totals));
    lists[lightest]!.push(name);
    totals[lightest]! += size;
  }
  return lists;
}

export interface OptimizerTensors {
  readonly values: Map<string, Float32Array>;
  readonly adam: AdamWState;
  /** This step's gradients, filled by the caller before gradNorm(). */
  readonly grads: Map<string, Float32Array>;
}

export interface OptimizerTrainable {
  readonly name: string;
  readonly decay: boolean;
}

/** The trainer's optimizer step: the gradients' global norm, then AdamW, on one thread or several. */
export class AdamWOptimizer {
  private constructor(
    private readonly t: OptimizerTensors,
    private readonly settings: AdamWSettings,
    private readonly decays: ReadonlyMap<string, boolean>,
    private readonly workers: readonly Worker[],
    /** groups[0]: this thread's tensors; groups[i + 1]: workers[i]'s. */
    private readonly groups: readonly (readonly string[])[],
    private readonly keepGradients: boolean,
  ) {
    for (const worker of workers) worker.once('exit', (code) => this.stopped.set(worker, code));
  }

  private failedMidStep = false;
  /** Threads that have ended, with their exit codes: a request to one would never be answered. */
  private readonly stopped = new Map<Worker, number>();

  /**
   * False once an optimizer thread failed mid-step: the tensors it held never came back, so the
   * maps must not be saved (the last checkpoint on disk is the one to resume from).
   */
  get intact(): boolean {
    return !this.failedMidStep;
  }

  /**
   * Up to `threads` threads (this one included) where the trainables are big enough to gain from
   * them; one thread otherwise. Makes every tensor own its buffer, so that it can be transferred.
   * Unless `keepGradients` (buffers the caller accumulates into, step after step), step() lets go
   * of the gradients: onnxruntime's next outputs must not meet the last ones in memory (a full
   * fine-tuning step's gradients are the size of the model).
   */
  static start(
    trainables: readonly OptimizerTrainable[],
    tensors: OptimizerTensors,
    settings: AdamWSettings,
    threads: number,
    keepGradients = false,
  ): AdamWOptimizer {
    const sizes = trainables.map((tr) => [tr.name, tensors.values.get(tr.name)!.length] as const);
    const total = sizes.reduce((a, [, n]) => a + n, 0);
    const groups =
      threads < 2 || total < THREADED_OPTIMIZER_MIN_VALUES
        ? [trainables.map((tr) => tr.name)]
        : splitBySize(sizes, Math.min(threads, trainables.length));
    if (groups.length > 1)
      for (const { name } of trainables) {
        tensors.values.set(name, ownBuffer(tensors.values.get(name)!));
        tensors.adam.m.set(name, ownBuffer(tensors.adam.m.get(name)!));
        tensors.adam.v.set(name, ownBuffer(tensors.adam.v.get(name)!));
      }
    const workers = groups.slice(1).map(() => {
      const worker = startWorkerThread(siblingEntryUrl(import.meta.url, 'adamw-worker'));
      worker.unref(); // never what keeps a process alive
      return worker;
    });
    const decays = new Map(trainables.map((tr) => [tr.name, tr.decay]));
    return new AdamWOptimizer(tensors, settings, decays, workers, groups, keepGradients);
  }

  /** Threads doing the update, this one included. */
  get threads(): number {
    return this.groups.length;
  }

  /**
   * The global L2 norm of this step's gradients: per-tensor sums of squares added in the
   * trainables' order, wherever they were summed. The workers keep their share until step().
   */
  async gradNorm(): Promise<number> {
    const { grads } = this.t;
    const replies = this.workers.map((worker, i) => {
      const mine = this.groups[i + 1]!.map((name) => ({ name, grad: gradientBuffer(grads.get(name)!) }));
      return this.request(worker, { kind: 'norm', grads: mine }, transferable(mine.map((g) => g.grad)));
    });
    const sums = new Map<string, number>(this.groups[0]!.map((name) => [name, sumOfSquares(grads.get(name)!)]));
    for (const r of await Promise.all(replies)) {
      if (r.kind !== 'norm') throw new Error(`optimizer thread answered ${r.kind} to norm`);
      for (const s of r.sums) sums.set(s.name, s.sumOfSquares);
    }
    let sq = 0;
    for (const name of this.decays.keys()) sq += sums.get(name)!;
    return Math.sqrt(sq);
  }

  /**
   * One AdamW update at `lr` with the gradients scaled by `clip` (apply), or none (a skipped step:
   * the buffers only come back). Afterwards the maps hold live arrays again.
   */
  async step(apply: boolean, lr: number, clip: number): Promise<void> {
    const t = this.t;
    if (apply) t.adam.step += 1;
    const scalars = (name: string) => adamWScalars(t.adam.step, lr, this.settings, this.decays.get(name)!, clip);
    const replies = this.workers.map((worker, i) => {
      const tensors = this.groups[i + 1]!.map((name) => ({
        name,
        param: t.values.get(name)!.buffer as ArrayBuffer,
        m: t.adam.m.get(name)!.buffer as ArrayBuffer,
        v: t.adam.v.get(name)!.buffer as ArrayBuffer,
        scalars: scalars(name),
      }));
      return this.request(
        worker,
        { kind: 'update', apply, tensors },
        tensors.flatMap((x) => [x.param, x.m, x.v]),
      );
    });
    if (apply)
      for (const name of this.groups[0]!)
        adamWKernel(t.values.get(name)!, t.grads.get(name)!, t.adam.m.get(name)!, t.adam.v.get(name)!, scalars(name));
    const answers = await Promise.all(replies).catch((e: unknown) => {
      this.failedMidStep = true;
      throw e;
    });
    for (const r of answers) {
      if (r.kind !== 'updated') throw new Error(`optimizer thread answered ${r.kind} to update`);
      for (const x of r.tensors) {
        t.values.set(x.name, new Float32Array(x.param));
        t.adam.m.set(x.name, new Float32Array(x.m));
        t.adam.v.set(x.name, new Float32Array(x.v));
        t.grads.set(x.name, new Float32Array(x.grad));
      }
    }
    if (!this.keepGradients) t.grads.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private request(worker: Worker, message: ToOptimizerThread, transfer: ArrayBuffer[]): Promise<FromOptimizerThread> {
    return new Promise((resolve, reject) => {
      const stoppedWith = this.stopped.get(worker);
      if (stoppedWith !== undefined) {
        reject(threadStopped(stoppedWith));
        return;
      }
      const settle = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onError = (e: Error) => {
        settle();
        reject(e);
      };
      // a thread that ends without an error (terminated, or out of memory) would leave the step waiting forever
      const onExit = (code: number) => {
        settle();
        reject(threadStopped(code));
      };
      const onMessage = (r: FromOptimizerThread) => {
        settle();
        if (r.kind === 'failed') reject(new Error(`optimizer thread: ${r.message}`));
        else resolve(r);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage(message, transfer);
    });
  }
}

function threadStopped(code: number): Error {
  return new Error(`optimizer thread stopped (exit code ${code}) before it answered`);
}
