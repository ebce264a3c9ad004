/**
 * What a free-text task's gold targets are called: a summarisation dataset has reference summaries
 * and a free QA one reference answers, not labels ("unlabelled" would say there is nothing to learn).
 */
import type { TaskType } from '../../../src-main/ipc/contract.js';

export function referenceTexts(task: TaskType): string {
  return task === 'summarization' ? 'reference summary' : 'reference answer';
}
