/** The people who use this store and their roles (permissions.ts). Users are disabled, never deleted, so the audit log keeps its meaning. */
import { UserError } from '../../common/errors.js';
import { checkRole, type Role } from '../permissions.js';
import type { Db } from '../sqlite.js';
import { nowIso, rowId } from './rows.js';

export interface User {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly createdAt: string;
}

interface UserRow {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  disabled: number;
  created_at: string;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export class UsersRepository {
  constructor(private readonly db: Db) {}

  add(username: string, role: string, displayName = username): User {
    checkUsername(username);
    const checked = checkRole(role);
    if (this.find(username))
      throw new UserError(
        'ALREADY_EXISTS',
        `User "${username}" already exists; change their role with \`clinprompt users role\`.`,
      );
    const id = rowId(
      this.db
        .prepare('INSERT INTO users (username, display_name, role, created_at) VALUES (?, ?, ?, ?)')
        .run(username, displayName, checked, nowIso()).lastInsertRowid,
    );
    return this.get(id);
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser);
  }

  find(username: string): User | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
    return row && toUser(row);
  }

  get(idOrUsername: number | string): User {
    const row = (
      typeof idOrUsername === 'number'
        ? this.db.prepare('SELECT * FROM users WHERE id = ?').get(idOrUsername)
        : this.db.prepare('SELECT * FROM users WHERE username = ?').get(idOrUsername)
    ) as UserRow | undefined;
    if (!row) throw new UserError('NOT_FOUND', `No user "${idOrUsername}". List users with \`clinprompt users list\`.`);
    return toUser(row);
  }

  setRole(username: string, role: string): User {
    const checked = checkRole(role);
    const user = this.get(username);
    this.#refuseLastAdmin(user, checked !== 'informatics-admin');
    this.db.prepare('UPDATE users SET role = ? WHERE id = ?').run(checked, user.id);
    return this.get(user.id);
  }

  setDisabled(username: string, disabled: boolean): User {
    const user = this.get(username);
    this.#refuseLastAdmin(user, disabled);
    this.db.prepare('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, user.id);
    return this.get(user.id);
  }

  /** A store without an active admin could never add users or rotate its key again. */
  #refuseLastAdmin(user: User, losesAdmin: boolean): void {
    if (!losesAdmin || user.role !== 'informatics-admin' || user.disabled) return;
    const admins = this.db
      .prepare(`SELECT count(*) FROM users WHERE role = 'informatics-admin' AND disabled = 0`)
      .pluck()
      .get() as number;
    if (admins <= 1) {
      throw new UserError(
        'INVALID_ARGUMENT',
        `"${user.username}" is the last informatics-admin; make someone else admin first.`,
      );
    }
  }
}

export function checkUsername(username: string): void {
  if (!USERNAME.test(username)) {
    throw new UserError(
      'INVALID_ARGUMENT',
      `"${username}" is not a valid username: use 1-64 letters, digits, '.', '_', '@' or '-' (as in the workstation login).`,
    );
  }
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    disabled: row.disabled !== 0,
    createdAt: row.created_at,
  };
}
