/**
 * The app's store lifecycle with the OS keychain: a real Secret Service (gnome-keyring on a
 * private D-Bus, see ../store/secret-service.ts) behind keytar, as the Electron shell passes it.
 */
import { afterAll, describe, expect, it } from 'vitest';

import type { StoreState } from '../../../src-main/ipc/contract.js';
import { createDispatcher } from '../../../src-main/ipc/dispatcher.js';
import { createServices } from '../../../src-main/services/index.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { makeTempDir } from '../../support/temp.js';
import { secretServiceUnavailableReason, useRealKeychain } from '../store/secret-service.js';

const skip = skipUnlessAvailable(secretServiceUnavailableReason(), 'app keychain tests');

describe.skipIf(skip)('store service with the OS keychain (gnome-keyring)', () => {
  const keytar = useRealKeychain();
  const tmp = makeTempDir('clinprompt-app-keychain-');
  afterAll(() => tmp.cleanup());

  /** The services as the desktop shell builds them (keytar, no safeStorage), behind the dispatcher. */
  function app() {
    const services = createServices({ dataDir: tmp.dir, store: { username: 'dr.ada', keychain: keytar() } });
    const dispatcher = createDispatcher(services.handlers);
    const call = async <T>(name: string, ...args: unknown[]): Promise<T> => {
      const reply = await dispatcher.invoke(name, args);
      if (!reply.ok) throw new Error(`${name} failed: ${reply.error.code} ${reply.error.message}`);
      return reply.value as T;
    };
    return { services, call };
  }

  it('sets up with the keychain and a passphrase, and unlocks by itself after a lock and a restart', async () => {
    const first = app();
    expect(await first.call<StoreState>('store.getStatus')).toMatchObject({
      state: 'absent',
      automaticProtection: 'keychain',
    });
    expect(await first.call<StoreState>('store.setUp', { passphrase: 'dr ada passphrase' })).toMatchObject({
      state: 'unlocked',
      protections: ['keychain', 'passphrase'],
      role: 'informatics-admin',
    });
    expect(await first.call<StoreState>('store.lock')).toMatchObject({
      state: 'locked',
      unlocksWithoutPassphrase: true,
    });
    expect((await first.call<StoreState>('store.unlock', {})).state).toBe('unlocked');
    await first.services.dispose(); // quit: locks

    const restarted = app();
    expect((await restarted.call<StoreState>('store.getStatus')).state).toBe('locked');
    expect((await restarted.call<StoreState>('store.unlock', {})).state).toBe('unlocked');
    await restarted.services.dispose();
  });
});
