/**
 * The encrypted store as the renderer sees it: absent, locked or unlocked (`store.getStatus`),
 * kept current by the requests that change it and by `store.onDidLock` (auto-lock after
 * inactivity). App.svelte picks the set-up screen, the unlock screen or the wizard from it.
 */
import type { ClinPromptApi, StoreState } from '../../../src-main/ipc/contract.js';

export class StoreStatus {
  #api: ClinPromptApi;
  /** Undefined until the first status arrives. */
  current = $state<StoreState | undefined>();
  /** Why the store was last locked, for the unlock screen ('inactivity' after an auto-lock). */
  lockedBecause = $state<'inactivity' | 'request' | undefined>();

  constructor(api: ClinPromptApi) {
    this.#api = api;
    api.on('store.onDidLock', ({ reason }) => {
      this.lockedBecause = reason;
      if (this.current) this.current = { ...this.current, state: 'locked' };
      void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    this.current = await this.#api['store.getStatus']();
  }

  async setUp(passphrase: string): Promise<void> {
    this.current = await this.#api['store.setUp']({ passphrase });
  }

  async unlock(passphrase?: string): Promise<void> {
    this.current = await this.#api['store.unlock'](passphrase === undefined ? {} : { passphrase });
    this.lockedBecause = undefined;
  }

  async lock(): Promise<void> {
    this.current = await this.#api['store.lock']();
  }
}
