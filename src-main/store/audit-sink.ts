/**
 * A copy of the audit log's head kept off the store's folder, when configured. The signed head
 * file beside the database catches a database rolled back or cut short on its own; someone who
 * holds the data key and puts back older copies of both files is caught only by a record they
 * cannot rewrite: a line in syslog (ideally forwarded to a log server) or the Windows Event Log.
 *
 * `CLINPROMPT_AUDIT_SINK` says where each new head goes (deployment policy, like CLINPROMPT_HOME):
 *   file:<path>               append a line to a file (a share only the log host writes, or tests)
 *   syslog                    the local syslog, through logger(1) (Linux, macOS)
 *   syslog:unix:<socket>      a syslog unix socket, through `logger -u`
 *   syslog:udp:<host>:<port>  a syslog server over UDP, through `logger -d -n -P`
 *   eventlog                  the Windows Application log, through eventcreate (source ClinPrompt, id 900)
 * `CLINPROMPT_AUDIT_SINK_LOG` names a file to read the copies back from when verifying (the file
 * the syslog server writes, or an exported event log); a `file:` sink is read back by itself.
 *
 * A line holds the store id, the entry number and its MAC link, signed with the audit key: no PHI.
 * Lines not signed by this store are ignored, so anyone able to write to syslog can add noise but
 * neither fake a pass nor raise a false alarm.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';

import { nodeErrorCode, UserError } from '../common/errors.js';
import { log } from '../common/log.js';

export type AuditSink =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'syslog'; readonly loggerArgs: readonly string[] }
  | { readonly kind: 'eventlog' };

export interface AuditSinkConfig {
  readonly sink?: AuditSink;
  /** Where verify reads the copies back from (a file: sink's own file when not given). */
  readonly readBack?: string;
}

export const SINK_VARIABLE = 'CLINPROMPT_AUDIT_SINK';
export const SINK_LOG_VARIABLE = 'CLINPROMPT_AUDIT_SINK_LOG';
const SYSLOG_TAG = ['-t', 'clinprompt', '-p', 'auth.notice'] as const;

/** Parses one CLINPROMPT_AUDIT_SINK value (see the file comment). */
export function parseAuditSink(value: string): AuditSink {
  const bad = (why: string) =>
    new UserError(
      'INVALID_ARGUMENT',
      `${SINK_VARIABLE}="${value}" ${why}. Use file:<path>, syslog, syslog:unix:<socket>, syslog:udp:<host>:<port> or eventlog.`,
      { field: SINK_VARIABLE },
    );
  if (value.startsWith('file:')) {
    if (value.length === 'file:'.length) throw bad('names no file');
    return { kind: 'file', path: value.slice('file:'.length) };
  }
  if (value === 'syslog') return { kind: 'syslog', loggerArgs: [...SYSLOG_TAG] };
  if (value.startsWith('syslog:unix:') && value.length > 'syslog:unix:'.length) {
    return { kind: 'syslog', loggerArgs: [...SYSLOG_TAG, '-u', value.slice('syslog:unix:'.length)] };
  }
  const udp = /^syslog:udp:(.+):(\d{1,5})$/.exec(value);
  if (udp) return { kind: 'syslog', loggerArgs: [...SYSLOG_TAG, '-d', '-n', udp[1] ?? '', '-P', udp[2] ?? ''] };
  if (value === 'eventlog') return { kind: 'eventlog' };
  throw bad('is not a sink ClinPrompt knows');
}

/** The sink the environment configures (none when unset). */
export function auditSinkFromEnv(env: NodeJS.ProcessEnv = process.env): AuditSinkConfig {
  const value = env[SINK_VARIABLE]?.trim();
  const readBack = env[SINK_LOG_VARIABLE]?.trim();
  return {
    ...(value ? { sink: parseAuditSink(value) } : {}),
    ...(readBack ? { readBack } : {}),
  };
}

export interface ExternalHead {
  readonly seq: number;
  readonly link: string;
  readonly at: string;
  readonly mac: string;
}

const LINE = /clinprompt-audit-head v1 store=(\S+) seq=(\d+) link=([0-9a-f]{64}) at=(\S+) mac=([0-9a-f]{64})/;

export function headLine(storeId: string, head: ExternalHead): string {
  return `clinprompt-audit-head v1 store=${storeId} seq=${head.seq} link=${head.link} at=${head.at} mac=${head.mac}`;
}

/**
 * Sends one head line. The audited action has already committed, so a sink that fails does not
 * undo it: the failure is logged (the next head is sent again), and verify can only compare
 * against what arrived.
 */
export function sendHead(sink: AuditSink, line: string): boolean {
  try {
    if (sink.kind === 'file') {
      appendFileSync(sink.path, `${line}\n`, { mode: 0o600 });
      return true;
    }
    const [command, args] =
      sink.kind === 'syslog'
        ? ['logger', [...sink.loggerArgs, '--', line]]
        : ['eventcreate', ['/T', 'INFORMATION', '/ID', '900', '/L', 'APPLICATION', '/SO', 'ClinPrompt', '/D', line]];
    const result = spawnSync(command, args, { stdio: 'ignore', timeout: 5_000, windowsHide: true });
    if (result.status === 0) return true;
    log.warn('audit-sink-failed', { sink: sink.kind, status: result.status ?? -1, error: result.error?.message ?? '' });
  } catch (error) {
    log.warn('audit-sink-failed', { sink: sink.kind, error: nodeErrorCode(error) ?? 'unknown' });
  }
  return false;
}

/** Every head line of `storeId` in a file (syslog text, an exported event log, a file: sink); [] when unreadable. */
export function readExternalHeads(file: string, storeId: string): ExternalHead[] | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 'unreadable';
  }
  const heads: ExternalHead[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m && m[1] === storeId) {
      heads.push({ seq: Number(m[2]), link: m[3] ?? '', at: m[4] ?? '', mac: m[5] ?? '' });
    }
  }
  return heads;
}

/** The file verify reads copies from, if any. */
export function readBackFile(config: AuditSinkConfig): string | undefined {
  return config.readBack ?? (config.sink?.kind === 'file' ? config.sink.path : undefined);
}
