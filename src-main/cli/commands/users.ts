/** `clinprompt users add|list|role|disable|enable`: who may use the store, and in which role. */
import { ROLE_PERMISSIONS, ROLES } from '../../store/permissions.js';
import { UsersRepository, type User } from '../../store/repositories/users.js';
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
      const session = await context.session();
      const user = session.perform(
        'users.manage',
        'users.add',
        (db) => new UsersRepository(db).add(username, options.role, options.name),
        (u) => ({ objectType: 'user', objectIds: [u.id], details: { username: u.username, role: u.role } }),
      );
      context.output.result(user, (u) => `Added ${u.username} as ${u.role}.`);
    });

  users
    .command('list')
    .description('List users and their roles')
    .action(async () => {
      const session = await context.session();
      session.require('users.manage', 'list users');
      context.output.result((await context.store()).users.list(), renderUsers);
    });

  users
    .command('role <username> <role>')
    .description(`Change a user's role (${ROLES.join(', ')}); the last informatics-admin cannot be demoted`)
    .action(async (username: string, role: string) => {
      const session = await context.session();
      const user = session.perform(
        'users.manage',
        'users.role',
        (db) => new UsersRepository(db).setRole(username, role),
        (u) => ({ objectType: 'user', objectIds: [u.id], details: { username: u.username, role: u.role } }),
      );
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
        const session = await context.session();
        const user = session.perform(
          'users.manage',
          `users.${name}`,
          (db) => new UsersRepository(db).setDisabled(username, disabled),
          (u) => ({ objectType: 'user', objectIds: [u.id], details: { username: u.username } }),
        );
        context.output.result(user, (u) => `${u.username} is now ${u.disabled ? 'disabled' : 'active'}.`);
      });
  }
};
