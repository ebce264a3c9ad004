/**
 * The Users screen's requests: an informatics administrator lists the store's users, adds one with
 * a role and a first passphrase of their own, changes a role, removes a user's access and sets a
 * new passphrase for someone who forgot theirs; anyone changes their own passphrase. They
 * call the same use cases as `clinprompt users` (store-admin.ts), which check the permission
 * (users.manage) and audit each change; here only the app's words are added.
 */
import { UserError } from '../common/errors.js';
import type { RequestHandlers, RoleView, UserView } from '../ipc/contract.js';
import { checkNewPassphrase } from '../store/keys/passphrase.js';
import { ROLE_PERMISSIONS, ROLES, roleTitle } from '../store/permissions.js';
import { checkUsername, type User } from '../store/repositories/users.js';
import type { StoreSession } from '../store/session.js';
import { addUser, listUsers, setUserCredential, setUserDisabled, setUserRole } from './store-admin.js';
import type { StoreService } from './store-service.js';

const ROLE_VIEWS: readonly RoleView[] = ROLES.map((role) => ({
  role,
  title: ROLE_PERMISSIONS[role].title,
  summary: ROLE_PERMISSIONS[role].summary,
}));

function toView(user: User, session: StoreSession): UserView {
  return {
    username: user.username,
    displayName: user.displayName,
    role: user.role,
    roleTitle: roleTitle(user.role),
    active: !user.disabled,
    createdAt: user.createdAt,
    you: user.username === session.user.username,
  };
}

/** Runs a check of one setting, naming that setting's field when it refuses. */
function checked(field: string, check: () => void): void;
function checked(field: string, check: () => Promise<void>): Promise<void>;
function checked(field: string, check: () => void | Promise<void>): void | Promise<void> {
  const named = (error: unknown) => {
    if (error instanceof UserError) throw new UserError(error.code, error.message, { field });
    throw error;
  };
  try {
    const done = check();
    if (done instanceof Promise) return done.catch(named);
  } catch (error) {
    named(error);
  }
}

type UserRequests =
  'users.list' | 'users.add' | 'users.setRole' | 'users.remove' | 'users.changePassphrase' | 'users.resetPassphrase';

export function userHandlers(store: StoreService): Pick<RequestHandlers, UserRequests> {
  return {
    'users.list': () =>
      store.use((s, session) => ({ users: listUsers(s, session).map((u) => toView(u, session)), roles: ROLE_VIEWS })),
    'users.add': ({ username, role, displayName, passphrase }) =>
      store.use(async (s, session) => {
        session.require('users.manage', 'add users'); // before anything about the new user is looked at
        checked('username', () => checkUsername(username));
        if (s.users.find(username))
          throw new UserError('ALREADY_EXISTS', `"${username}" is already a user; change their role in the list.`, {
            field: 'username',
          });
        checked('passphrase', () => checkNewPassphrase(passphrase));
        const user = await addUser(
          s,
          session,
          { username, role, ...(displayName ? { displayName } : {}) },
          store.passphraseCredential(passphrase),
        );
        return toView(user, session);
      }),
    'users.setRole': ({ username, role }) =>
      store.use((s, session) => toView(setUserRole(session, username, role), session)),
    'users.remove': ({ username }) =>
      store.use(async (s, session) => {
        if (username === session.user.username)
          throw new UserError(
            'INVALID_ARGUMENT',
            'You cannot remove your own access here; another informatics administrator can.',
            { field: 'username' },
          );
        return toView(await setUserDisabled(s, session, username, true), session);
      }),
    'users.changePassphrase': ({ currentPassphrase, passphrase }) =>
      store.use(async (s, session) => {
        const me = session.user.username;
        checked('passphrase', () => checkNewPassphrase(passphrase));
        await checked('currentPassphrase', () => s.checkPassphraseOf(me, currentPassphrase));
        if (passphrase === currentPassphrase)
          throw new UserError('INVALID_ARGUMENT', 'Choose a passphrase other than your current one.', {
            field: 'passphrase',
          });
        await setUserCredential(s, session, me, store.passphraseCredential(passphrase));
        return toView(s.users.get(me), session);
      }),
    'users.resetPassphrase': ({ username, passphrase }) =>
      store.use(async (s, session) => {
        session.require('users.manage', `set a new passphrase for ${username}`);
        if (username === session.user.username)
          throw new UserError(
            'INVALID_ARGUMENT',
            'Change your own passphrase under "Your passphrase", with your current one.',
            {
              field: 'username',
            },
          );
        if (!s.users.find(username))
          throw new UserError('NOT_FOUND', `"${username}" is not a user of this store.`, { field: 'username' });
        checked('passphrase', () => checkNewPassphrase(passphrase));
        await setUserCredential(s, session, username, store.passphraseCredential(passphrase));
        return toView(s.users.get(username), session);
      }),
  };
}
