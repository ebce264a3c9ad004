/**
 * How a prompt too long for the context is cut, the same in training and in evaluation: its
 * middle goes, its start (the instruction) and its last tokens (the task's answer cue, e.g.
 * "...Answer:") stay.
 */

/** Tokens kept from the end of a cut prompt: the task's answer cue must survive. */
export const PROMPT_TAIL = 24;

/** `ids` cut to at most `budget` tokens by dropping from the middle. */
export function cutMiddle(ids: readonly number[], budget: number): number[] {
  if (ids.length <= budget) return [...ids];
  const tail = Math.min(PROMPT_TAIL, Math.floor(budget / 4));
  return [...ids.slice(0, budget - tail), ...ids.slice(ids.length - tail)];
}
