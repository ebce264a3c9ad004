/** `clinprompt users add|list|role|disable|enable`: who may use the store, and in which role. */
import { addUser, listUsers, setUserCredential, setUserDisabled, setUserRole } from '../../services/store-admin.js';
import { loadKeytar } from '../../store/keys/keychain.js';
import { ROLE_PERMISSIONS, ROLES } from '../../store/permissions.js';
import type { User } from '../../store/repositories/users.js';
import type { CommandContext, RegisterCommands } from '../context.js';
import { formatTable } from '../output.js';
import { cliActor, readSecret } from '../store-access.js';

/** A new passphrase for `username`: CLINPROMPT_NEW_PASSPHRASE, else asked twice on the terminal. */
const newPassphraseFor = async (context: CommandContext, username: string) => ({
  passphrase: await readSecret(context.io, 'CLINPROMPT_NEW_PASSPHRASE', `New passphrase for ${username}`, true),
});

const ROLE_HELP = ROLES.map((r) => `${r}: ${ROLE_PERMISSIONS[r].summary}`).join('; ');

const renderUsers = (users: readonly User[]) =>
  formatTable(
    ['username', 'name', 'role', 'status'],
    users.map((u) => [u.username, u.displayName, u.role, u.disabled ? 'disabled' : 'active']),
  );

export const registerUsersCommands: RegisterCommands = (program, context) => {
  const users = program.command('users').description(`Users of the store and their roles (${ROLES.join(', ')})`);

  users
    .command('add <username>')
    .description(
      'Add a user (as their workstation login name) with a first passphrase of their own (CLINPROMPT_NEW_PASSPHRASE, ' +
        `or asked); they change it with \`users passphrase\`. Roles: ${ROLE_HELP}`,
    )
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--name <displayName>', 'display name (default: the username)')
    .action(async (username: string, options: { role: string; name?: string }) => {
      const session = await context.session();
      session.require('users.manage', 'users.add'); // before asking for a passphrase
      const credential = await newPassphraseFor(context, username);
      const user = await addUser(
        await context.store(),
        session,
        { username, role: options.role, ...(options.name !== undefined ? { displayName: options.name } : {}) },
        credential,
      );
      context.output.result(user, (u) => `Added ${u.username} as ${u.role}.`);
    });

  users
    .command('list')
    .description('List users and their roles')
    .action(async () => {
      context.output.result(listUsers(await context.store(), await context.session()), renderUsers);
    });

  users
    .command('role <username> <role>')
    .description(`Change a user's role (${ROLES.join(', ')}); the last informatics-admin cannot be demoted`)
    .action(async (username: string, role: string) => {
      const user = setUserRole(await context.session(), username, role);
      context.output.result(user, (u) => `${u.username} is now ${u.role}.`);
    });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(`${name} <username>`)
      .description(
        disabled
          ? 'Disable a user and revoke their credentials (they keep their audit history); the last informatics-admin ' +
              'cannot be disabled'
          : 'Re-enable a disabled user with a new passphrase (CLINPROMPT_NEW_PASSPHRASE, or asked)',
      )
      .action(async (username: string) => {
        const session = await context.session();
        session.require('users.manage', `users.${name}`); // before asking for a passphrase
        const credential = disabled ? undefined : await newPassphraseFor(context, username);
        const user = await setUserDisabled(await context.store(), session, username, disabled, credential);
        context.output.result(user, (u) => `${u.username} is now ${u.disabled ? 'disabled' : 'active'}.`);
      });
  }

  users
    .command('passphrase [username]')
    .description(
      'Set a new passphrase (CLINPROMPT_NEW_PASSPHRASE, or asked twice): your own, or, as informatics-admin, ' +
        "another user's (a new user after a key rotation or restore, a forgotten passphrase)",
    )
    .option('--keychain', 'also keep your key in your OS keychain (your own account only)')
    .action(async (username: string | undefined, options: { keychain?: boolean }) => {
      const session = await context.session();
      const target = username ?? cliActor(context.io);
      if (target !== session.user.username) session.require('users.manage', `set the credential of ${target}`);
      const credential = {
        ...(await newPassphraseFor(context, target)),
        ...(options.keychain ? { keychain: await loadKeytar() } : {}),
      };
      const result = await setUserCredential(await context.store(), session, target, credential);
      context.output.result(result, (r) => `${r.username} now unlocks with: ${r.protections.join(', ')}.`);
    });
};
