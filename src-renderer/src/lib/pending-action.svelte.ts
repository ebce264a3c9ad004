/**
 * One user action at a time (set up, unlock, import): whether it is running, and the message of
 * its last failure, which is the contract's UserError text (never a stack trace) after the label of
 * the field it concerns.
 */
import { errorText } from './fields.js';

export class PendingAction {
  busy = $state(false);
  error = $state<string | undefined>();

  async run(work: () => Promise<void>): Promise<void> {
    this.error = undefined;
    this.busy = true;
    try {
      await work();
    } catch (e) {
      this.error = errorText(e);
    } finally {
      this.busy = false;
    }
  }
}
