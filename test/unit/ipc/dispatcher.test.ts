import { describe, expect, expectTypeOf, it } from 'vitest';

import { UserError } from '../../../src-main/common/errors.js';
import { log } from '../../../src-main/common/log.js';
import type { ClinPromptApi, JobState, RequestHandlers, RequestName } from '../../../src-main/ipc/contract.js';
import { createDispatcher } from '../../../src-main/ipc/dispatcher.js';

const info = {
  name: 'ClinPrompt',
  version: '1.0.0',
  dataDir: '/d',
  runtime: 'node',
  platform: 'linux-x64',
  canPickPaths: false,
} as const;
const job: JobState = { jobId: 'j-1', kind: 'system-check', status: 'running', startedAt: '2026-01-01T00:00:00Z' };

/** Handlers these tests never reach: any call fails the test. */
function unused<N extends RequestName>(...names: N[]): Pick<RequestHandlers, N> {
  const entries = names.map((n) => [n, async () => expect.fail(`${n} must not be called`)]);
  return Object.fromEntries(entries) as unknown as Pick<RequestHandlers, N>;
}

function handlers(overrides: Partial<RequestHandlers> = {}): RequestHandlers {
  return {
    'app.getInfo': async () => info,
    'jobs.start': async () => job,
    'jobs.cancel': async () => job,
    'jobs.list': async () => [job],
    ...unused(
      'store.getStatus',
      'store.setUp',
      'store.unlock',
      'store.lock',
      'store.noteActivity',
      'datasets.list',
      'datasets.import',
      'datasets.delete',
      'datasets.rename',
      'datasets.preview',
      'imports.preview',
      'datasets.catalogue',
      'packs.list',
      'packs.inspect',
      'packs.verify',
      'packs.preview',
      'packs.export',
      'packs.import',
      'packs.peft',
      'packs.keys.list',
      'packs.keys.add',
      'packs.keys.remove',
      'backbone.describe',
      'adapt.options',
      'adapt.start',
      'adapt.interrupted',
      'adapt.resume',
      'adapt.evaluate',
      'runs.list',
      'users.list',
      'users.add',
      'users.setRole',
      'users.remove',
      'users.changePassphrase',
      'users.resetPassphrase',
      'notes.run',
      'notes.export',
      'charts.loss',
      'charts.fewShot',
      'charts.labelBalance',
      'dialogs.pickPath',
      'tasks.types',
      'tasks.preview',
      'labels.items',
      'labels.add',
      'labels.undo',
      'labels.reverse',
      'labels.suggest',
    ),
    ...overrides,
  };
}

describe('createDispatcher', () => {
  it('calls the handler with validated, defaulted arguments', async () => {
    let seen: unknown;
    const dispatcher = createDispatcher(handlers({ 'jobs.start': async (r) => ((seen = r), job) }));
    expect(await dispatcher.invoke('jobs.start', [{ kind: 'system-check' }])).toEqual({ ok: true, value: job });
    expect(seen).toEqual({ kind: 'system-check', pauseMs: 0 });
  });

  it('refuses unknown requests and invalid arguments without calling any handler', async () => {
    const dispatcher = createDispatcher(handlers({ 'jobs.cancel': async () => expect.fail('must not be called') }));
    expect(await dispatcher.invoke('fs.readFile', ['/etc/passwd'])).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await dispatcher.invoke('__proto__', [])).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(await dispatcher.invoke('jobs.cancel', ['../../x'])).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await dispatcher.invoke('jobs.cancel', 'not-an-array')).toMatchObject({ ok: false });
    const tooMany = await dispatcher.invoke('app.getInfo', [1]);
    expect(tooMany).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    const badKind = await dispatcher.invoke('jobs.start', [{ kind: 'rm -rf' }]);
    expect(badKind.ok).toBe(false);
  });

  it('names the form field a schema refuses, with the schema message and no argument index', async () => {
    const dispatcher = createDispatcher(handlers({ 'datasets.import': async () => expect.fail('must not be called') }));
    const request = { format: 'conll', path: '/data/x', task: 'ner', name: 'a/b' };
    expect(await dispatcher.invoke('datasets.import', [request])).toEqual({
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        field: 'name',
        message: 'Use letters, digits, spaces, dot, dash or underscore.',
      },
    });
  });

  it('returns user errors as they are and bugs as a generic message without their text', async () => {
    const failing = createDispatcher(
      handlers({
        'jobs.cancel': async () => {
          throw new UserError('NOT_FOUND', 'No job with id j-9.');
        },
        'jobs.list': async () => {
          throw new Error('row 17: "Jane Roe, DOB 1950-02-03" violates constraint');
        },
      }),
    );
    expect(await failing.invoke('jobs.cancel', ['j-9'])).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'No job with id j-9.' },
    });
    const logged: string[] = [];
    const previous = log.setSink((line) => logged.push(line));
    const bug = await failing.invoke('jobs.list', []).finally(() => log.setSink(previous));
    expect(bug).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(JSON.stringify(bug)).not.toContain('Jane Roe');
    // The bug is logged for the developers, with its stack but without its message.
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/"event":"request failed".*"request":"jobs.list"/);
    expect(logged[0]).not.toContain('Jane Roe');
  });

  it('types the renderer API from the contract', () => {
    expectTypeOf<ClinPromptApi['jobs.cancel']>().parameters.toEqualTypeOf<[string]>();
    expectTypeOf<ReturnType<ClinPromptApi['jobs.list']>>().resolves.toEqualTypeOf<readonly JobState[]>();
  });
});
