/** `clinprompt audit verify|list`: the hash-chained audit log of the store (services/store-admin.ts). */
import { recentAuditEntries, verifyAuditLog } from '../../services/store-admin.js';
import type { AuditEntry, AuditVerification } from '../../store/audit.js';
import { EXIT } from '../exit-codes.js';
import type { RegisterCommands } from '../context.js';
import { formatTable } from '../output.js';

export const renderAuditVerification = (r: AuditVerification): string =>
  r.ok
    ? `Audit log intact: ${r.entries} entries, chain and head verified` +
      (r.externalSeq === undefined ? '.' : `, and its copy off the store's folder (up to entry ${r.externalSeq}).`)
    : `AUDIT LOG TAMPERED: ${r.problem} (first bad entry ${r.firstBadSeq}; ${r.entries} entries verified before it).`;

export const registerAuditCommands: RegisterCommands = (program, context) => {
  const audit = program.command('audit').description('The append-only, hash-chained audit log (who did what, when)');

  audit
    .command('verify')
    .description('Recompute the hash chain and report the first entry that was altered or removed (exit code 1 if any)')
    .action(async () => {
      const result = verifyAuditLog(await context.store(), await context.session());
      context.output.result(result, renderAuditVerification);
      if (!result.ok) context.exitCode = EXIT.failed;
    });

  audit
    .command('list')
    .description('Show the newest audit entries')
    .option('--limit <n>', 'how many entries (default 20)', (v) => Number.parseInt(v, 10), 20)
    .action(async (options: { limit: number }) => {
      const entries = recentAuditEntries(await context.store(), await context.session(), options.limit);
      context.output.result(entries, (list: readonly AuditEntry[]) =>
        formatTable(
          ['seq', 'time', 'user', 'OS login', 'role', 'action', 'objects'],
          list.map((e) => [
            String(e.seq),
            e.at,
            e.username,
            e.osUser ?? '',
            e.role,
            e.action,
            [e.objectType, e.objectIds.join(',')].filter(Boolean).join(' '),
          ]),
        ),
      );
    });
};
