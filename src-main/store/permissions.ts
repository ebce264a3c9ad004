/**
 * Roles and what they may do, for a shared hospital workstation. Who a person is comes from the
 * workstation login (the OS user, or CLINPROMPT_USER on servers); what they may do comes from their
 * role in the store. The table is the whole policy: one place to read, one place to audit.
 */
import { UserError } from '../common/errors.js';

export const PERMISSIONS = [
  'notes.read',
  'notes.import',
  'annotations.write',
  'datasets.import',
  'datasets.delete',
  'prompts.run',
  'models.train',
  'packs.export',
  'packs.import',
  'runs.read',
  'users.manage',
  'audit.read',
  'store.admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What only an informatics-admin may do (auditors read the log too). */
const ADMIN_ONLY: readonly Permission[] = ['users.manage', 'audit.read', 'store.admin'];

export const ROLES = ['clinician', 'annotator', 'data-scientist', 'informatics-admin', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_PERMISSIONS: Record<
  Role,
  { readonly title: string; readonly summary: string; readonly permissions: readonly Permission[] }
> = {
  clinician: {
    title: 'Clinician',
    summary: 'reads and imports notes, labels them, runs adapted prompts over them',
    permissions: ['notes.read', 'notes.import', 'annotations.write', 'prompts.run', 'runs.read'],
  },
  annotator: {
    title: 'Annotator',
    summary: 'reads notes and labels them',
    permissions: ['notes.read', 'annotations.write'],
  },
  'data-scientist': {
    title: 'Data scientist',
    summary: 'imports datasets, trains prompts, evaluates, exports PHI-free packs and imports trusted ones',
    permissions: PERMISSIONS.filter((p) => !ADMIN_ONLY.includes(p)),
  },
  'informatics-admin': {
    title: 'Informatics administrator',
    summary: 'everything, including users, key rotation, backup and restore',
    permissions: PERMISSIONS,
  },
  auditor: {
    title: 'Auditor',
    summary: 'reads and verifies the audit log and run history; no note text',
    permissions: ['audit.read', 'runs.read'],
  },
};

/** A role in the words the app shows; an unknown id as it is. */
export function roleTitle(role: string): string {
  return isRole(role) ? ROLE_PERMISSIONS[role].title : role;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function checkRole(value: string): Role {
  if (!isRole(value)) {
    throw new UserError('INVALID_ARGUMENT', `Unknown role "${value}". Roles: ${ROLES.join(', ')}.`);
  }
  return value;
}

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].permissions.includes(permission);
}
