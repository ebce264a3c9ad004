import { beforeEach, describe, expect, it } from 'vitest';

import type { UserError } from '../../../src-main/common/errors.js';
import { AuditLog } from '../../../src-main/store/audit.js';
import { ROLE_PERMISSIONS, ROLES } from '../../../src-main/store/permissions.js';
import { UsersRepository } from '../../../src-main/store/repositories/users.js';
import { StoreSession } from '../../../src-main/store/session.js';
import { useFreshDatabase } from './helpers.js';

describe('audit log', () => {
  const fresh = useFreshDatabase();
  let audit: AuditLog;

  beforeEach(() => {
    audit = new AuditLog(fresh.db);
    for (let i = 1; i <= 5; i++) {
      audit.append({
        username: 'ana',
        role: 'clinician',
        action: 'notes.import',
        objectType: 'note',
        objectIds: [i],
        details: { count: i },
      });
    }
  });
  it('verifies an intact chain and lists entries newest first', () => {
    expect(audit.verify()).toEqual({ ok: true, entries: 5, headSeq: 5 });
    const recent = audit.recent(2);
    expect(recent.map((e) => e.seq)).toEqual([5, 4]);
    expect(recent[0]).toMatchObject({ username: 'ana', objectIds: ['5'], details: { count: 5 } });
  });

  it('refuses UPDATE and DELETE through the schema triggers', () => {
    expect(() => fresh.db.prepare(`UPDATE audit_log SET username = 'eve' WHERE seq = 2`).run()).toThrow(/append-only/);
    expect(() => fresh.db.prepare('DELETE FROM audit_log WHERE seq = 5').run()).toThrow(/append-only/);
  });

  describe('with the triggers dropped (an attacker who has the key)', () => {
    beforeEach(() => fresh.db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;'));

    it('detects an altered entry and names it', () => {
      fresh.db.prepare(`UPDATE audit_log SET username = 'eve' WHERE seq = 3`).run();
      expect(audit.verify()).toMatchObject({
        ok: false,
        firstBadSeq: 3,
        problem: 'entry 3 was altered after it was written',
      });
    });

    it('detects a removed entry in the middle', () => {
      fresh.db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
      expect(audit.verify()).toMatchObject({ ok: false, firstBadSeq: 2, problem: 'entry 2 is missing' });
    });

    it('detects entries cut off the end through the recorded head', () => {
      fresh.db.prepare('DELETE FROM audit_log WHERE seq >= 4').run();
      expect(audit.verify()).toMatchObject({ ok: false, firstBadSeq: 4 });
    });

    it('detects a rewritten entry even when its own hash was recomputed', () => {
      const row = fresh.db.prepare('SELECT * FROM audit_log WHERE seq = 2').get() as { hash: string };
      fresh.db.prepare(`UPDATE audit_log SET action = 'nothing', hash = ? WHERE seq = 2`).run('f'.repeat(64));
      expect(row.hash).not.toBe('f'.repeat(64));
      expect(audit.verify()).toMatchObject({ ok: false, firstBadSeq: 2 });
    });
  });
});

describe('users, roles and sessions', () => {
  const fresh = useFreshDatabase();
  let users: UsersRepository;

  beforeEach(() => {
    users = new UsersRepository(fresh.db);
    users.add('root', 'informatics-admin', 'Informatics');
    users.add('ana', 'clinician', 'Dr Ana');
  });

  const session = (username: string) => new StoreSession(users.get(username), () => fresh.db);

  it('gives every role a summary and lets only admins manage users and the store', () => {
    for (const role of ROLES) {
      expect(ROLE_PERMISSIONS[role].summary.length).toBeGreaterThan(10);
      expect(ROLE_PERMISSIONS[role].permissions.includes('users.manage')).toBe(role === 'informatics-admin');
    }
  });

  it('lets a clinician import notes and label, but not train or export; refusals are audited', () => {
    const ana = session('ana');
    expect(ana.can('notes.import')).toBe(true);
    expect(ana.can('annotations.write')).toBe(true);
    expect(ana.can('models.train')).toBe(false);
    expect(() => ana.require('packs.export', 'export a pack')).toThrow(
      expect.objectContaining({
        code: 'PERMISSION_DENIED',
        message: expect.stringMatching(/ana.*clinician.*export a pack/),
      }) as UserError,
    );
    const last = new AuditLog(fresh.db).recent(1)[0];
    expect(last).toMatchObject({
      username: 'ana',
      action: 'permission.denied',
      details: { permission: 'packs.export' },
    });
  });

  it('commits an action and its audit entry together, or neither', () => {
    const ana = session('ana');
    const ids = ana.perform(
      'notes.import',
      'notes.import',
      (d) =>
        d
          .prepare(`INSERT INTO notes (collection, text, imported_at, imported_by) VALUES ('c', 't', 'now', 'ana')`)
          .run().lastInsertRowid,
      (id) => ({ objectType: 'note', objectIds: [Number(id)] }),
    );
    expect(new AuditLog(fresh.db).recent(1)[0]).toMatchObject({ action: 'notes.import', objectIds: [String(ids)] });
    expect(() =>
      ana.perform('notes.import', 'notes.import', (d) => {
        d.prepare(
          `INSERT INTO notes (collection, text, imported_at, imported_by) VALUES ('c', 't2', 'now', 'ana')`,
        ).run();
        throw new Error('disk trouble');
      }),
    ).toThrow('disk trouble');
    expect(fresh.db.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(1);
    expect(new AuditLog(fresh.db).verify()).toMatchObject({ ok: true, entries: 1 });
  });

  it('refuses to demote or disable the last admin, and blocks disabled users', () => {
    expect(() => users.setRole('root', 'auditor')).toThrow(/last informatics-admin/);
    expect(() => users.setDisabled('root', true)).toThrow(/last informatics-admin/);
    users.setDisabled('ana', true);
    expect(session('ana').can('notes.read')).toBe(false);
    expect(() => session('ana').require('notes.read')).toThrow(/disabled/);
    users.add('bo', 'informatics-admin');
    expect(users.setRole('root', 'auditor').role).toBe('auditor');
  });

  it('validates usernames and roles, naming the allowed values', () => {
    expect(() => users.add('ana', 'clinician')).toThrow(
      expect.objectContaining({ code: 'ALREADY_EXISTS' }) as UserError,
    );
    expect(() => users.add('bad name', 'clinician')).toThrow(/not a valid username/);
    expect(() => users.add('cy', 'surgeon')).toThrow(/Unknown role "surgeon". Roles: clinician, annotator/);
  });
});
