/**
 * Typing and clicks count as activity for the store's auto-lock, which in main sees only requests:
 * someone filling in a long form sends none until they submit it. Reported at most once per
 * `everyMs`, so the countdown restarts while they work without a request per keystroke.
 */
import type { ClinPromptApi } from '../../../src-main/ipc/contract.js';

const ACTIVITY_EVENTS = ['keydown', 'pointerdown', 'input'] as const;

/** Starts reporting; returns the function that stops it. */
export function reportActivity(api: ClinPromptApi, everyMs: number): () => void {
  let last = 0;
  const report = () => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    api['store.noteActivity']().catch(() => undefined); // a lock already under way is shown by store.onDidLock
  };
  for (const name of ACTIVITY_EVENTS) window.addEventListener(name, report, { capture: true, passive: true });
  return () => {
    for (const name of ACTIVITY_EVENTS) window.removeEventListener(name, report, { capture: true });
  };
}
