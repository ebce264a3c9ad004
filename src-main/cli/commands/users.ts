/** `clinprompt users add|list|role|disable|enable`: who may use the store, and in which role. */
import { addUser, listUsers, setUserDisabled, setUserRole } from '../../services/store-admin.js';
import { ROLE_PERMISSIONS, ROLES } from '../../store/permissions.js';
import type { User } from '../../store/repositories/users.js';
import type { RegisterCommands } from '../context.js';
import { formatTable } from '../output.js';

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
    .description(`Add a user (as their workstation login name). Roles: ${ROLE_HELP}`)
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--name <displayName>', 'display name (default: the username)')
    .action(async (username: string, options: { role: string; name?: string }) => {
      const user = addUser(await context.session(), {
        username,
        role: options.role,
        ...(options.name !== undefined ? { displayName: options.name } : {}),
      });
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
          ? 'Disable a user (they keep their audit history but can do nothing); the last informatics-admin cannot be disabled'
          : 'Re-enable a disabled user',
      )
      .action(async (username: string) => {
        const user = setUserDisabled(await context.session(), username, disabled);
        context.output.result(user, (u) => `${u.username} is now ${u.disabled ? 'disabled' : 'active'}.`);
      });
  }
};
