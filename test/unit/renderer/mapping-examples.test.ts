import { describe, expect, it } from 'vitest';

import { TASK_FIELDS, parseMapping } from '../../../src-main/data/mapping.js';
import { TASK_TYPES } from '../../../src-main/ipc/contract.js';
import { MAPPING_EXAMPLES } from '../../../src-renderer/src/lib/mapping-examples.js';

describe('the Import step’s mapping examples', () => {
  it.each(TASK_TYPES)('%s: the example maps only fields the task reads, and its text field', (task) => {
    const mapping = parseMapping(MAPPING_EXAMPLES[task], task);
    expect(Object.keys(mapping).length).toBeGreaterThan(1);
    expect(Object.keys(mapping)).toContain(TASK_FIELDS[task][0]);
  });
});
