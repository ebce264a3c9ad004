/**
 * The prompt-pack requests of the IPC contract: the same use cases as `clinprompt pack`
 * (services/packs.ts), on the unlocked store.
 */
import path from 'node:path';

import { openBackbone } from '../backbone/load.js';
import type { RequestHandlers } from '../ipc/contract.js';
import {
  exportPack,
  importPack,
  inspectPack,
  listPacks,
  listSigningKeys,
  previewPackExport,
  removeSigningKey,
  trustSigningKey,
  verifyPack,
  writePackAsPeft,
} from './packs.js';
import type { StoreService } from './store-service.js';

type PackRequests =
  | 'packs.list'
  | 'packs.inspect'
  | 'packs.verify'
  | 'packs.preview'
  | 'packs.export'
  | 'packs.import'
  | 'packs.peft'
  | 'packs.keys.list'
  | 'packs.keys.add'
  | 'packs.keys.remove';

export function packHandlers(store: StoreService): Pick<RequestHandlers, PackRequests> {
  return {
    'packs.list': () => store.use((s, session) => listPacks(s, session)),
    'packs.inspect': async ({ file }) => inspectPack(file),
    'packs.verify': ({ file }) => store.use((s, session) => verifyPack(s, session, file)),
    'packs.preview': ({ source, name }) =>
      store.use((s, session) => previewPackExport(s, session, { source, ...(name !== undefined && { name }) })),
    'packs.export': ({ source, out, name, confirmPhi, peft }) =>
      store.use((s, session) =>
        exportPack(s, session, {
          source,
          out,
          ...(name !== undefined && { name }),
          ...(confirmPhi !== undefined && { confirmPhi }),
          ...(peft && {
            peft: {
              backbone: openBackbone(peft.backbone),
              backboneName: path.basename(path.resolve(peft.backbone)),
              task: { type: peft.task, labels: peft.labels ?? [] },
            },
          }),
        }),
      ),
    'packs.import': ({ file, backbone, allowUntrusted }) =>
      store.use((s, session) =>
        importPack(s, session, {
          file,
          backbone: openBackbone(backbone),
          ...(allowUntrusted !== undefined && { allowUntrusted }),
        }),
      ),
    'packs.peft': async ({ file, out, promptTuning, taskId }) =>
      writePackAsPeft(file, out, {
        ...(promptTuning !== undefined && { promptTuning }),
        ...(taskId !== undefined && { taskId }),
      }),
    'packs.keys.list': () => store.use((s, session) => listSigningKeys(s, session)),
    'packs.keys.add': (request) => store.use((s, session) => trustSigningKey(s, session, request)),
    'packs.keys.remove': ({ keyId }) => store.use((s, session) => removeSigningKey(s, session, keyId)),
  };
}
