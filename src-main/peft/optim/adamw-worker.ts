/**
 * An optimizer thread: sums the squares of its share of the gradients, then runs AdamW on its
 * share of the tensors, with the same kernel as the trainer's thread (adamw.ts). Buffers arrive and
 * leave by transfer (or are shared), never copied.
 */
import { parentPort } from 'node:worker_threads';

import { adamWKernel, sumOfSquares } from './adamw.js';
import {
  transferable,
  type FromOptimizerThread,
  type GradientBuffer,
  type ToOptimizerThread,
} from './adamw-protocol.js';

const port = parentPort!;
const grads = new Map<string, GradientBuffer>();
const reply = (message: FromOptimizerThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (message: ToOptimizerThread) => {
  try {
    if (message.kind === 'norm') {
      grads.clear();
      for (const { name, grad } of message.grads) grads.set(name, grad);
      reply({
        kind: 'norm',
        sums: message.grads.map(({ name, grad }) => ({ name, sumOfSquares: sumOfSquares(new Float32Array(grad)) })),
      });
      return;
    }
    const tensors = message.tensors.map(({ name, param, m, v, scalars }) => {
      const grad = grads.get(name);
      if (!grad) throw new Error(`no gradient for ${name} on this optimizer thread`);
      if (message.apply)
        adamWKernel(new Float32Array(param), new Float32Array(grad), new Float32Array(m), new Float32Array(v), scalars);
      return { name, param, m, v, grad };
    });
    grads.clear();
    reply({ kind: 'updated', tensors }, transferable(tensors.flatMap((t) => [t.param, t.m, t.v, t.grad])));
  } catch (e) {
    reply({ kind: 'failed', message: e instanceof Error ? e.message : String(e) });
  }
});
