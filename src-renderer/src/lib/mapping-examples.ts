/**
 * A column mapping example per task type, shown as the mapping field's placeholder: each names
 * only fields its task reads (test/unit/renderer/mapping-examples.test.ts parses each one).
 */
import type { TaskType } from '../../../src-main/ipc/contract.js';

export const MAPPING_EXAMPLES: Readonly<Record<TaskType, string>> = {
  ner: 'text=note,entities=spans',
  re: 'text=sentence,head=drug,tail=effect,label=relation',
  qa: 'question=question,options=opa|opb|opc|opd,answerIndex=cop',
  nli: 'premise=Statement,hypothesis=Claim,label=Label',
  summarization: 'source=dialogue,summary=section_text',
};
