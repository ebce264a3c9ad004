/**
 * The pack's container: one zip file (APPNOTE.TXT 6.3), read and written in memory with fflate.
 * A pack comes from another machine, so reading trusts nothing in it: the file's size, the number
 * of members, their names and their declared sizes are checked against fixed limits from the
 * central directory before a single member is inflated, and inflation never writes past a
 * member's declared size (a member that lies about it then fails its SHA-256 in the manifest).
 * Members are stored uncompressed when written: float tensors barely compress, and a stored
 * member is readable with any zip tool.
 */
import { unzipSync, zipSync, type UnzipFileInfo } from 'fflate';

import { UserError } from '../common/errors.js';

export const PACK_LIMITS = {
  /** The whole file: a LoRA on q/v of an 8B model is ~14 MB; a prompt of 100 x 4096 floats 1.6 MB. */
  fileBytes: 512 * 1024 * 1024,
  /** Sum of the members' inflated sizes. */
  totalBytes: 512 * 1024 * 1024,
  members: 16,
  /** Inflated size / stored size above which a member is a zip bomb, not a tensor file. */
  ratio: 200,
} as const;

/** A member name is one plain file name: no folders, no `..`, no drive letters or backslashes. */
const MEMBER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/** Writes members (name -> bytes) into one zip, in the order given, with a fixed timestamp. */
export function writeContainer(members: ReadonlyMap<string, Uint8Array>): Buffer {
  const entries: Record<string, [Uint8Array, { level: 0; mtime: Date }]> = {};
  for (const [name, bytes] of members) {
    if (!MEMBER_NAME.test(name) || name.includes('..')) throw new Error(`bad pack member name ${name}`);
    entries[name] = [bytes, { level: 0, mtime: new Date('2000-01-01T00:00:00Z') }];
  }
  return Buffer.from(zipSync(entries));
}

/**
 * Reads a zip's members after checking the limits above; refuses (BAD_FILE) anything that is not
 * a well-formed pack container. `source` names the file in messages.
 */
export function readContainer(bytes: Uint8Array, source: string): Map<string, Buffer> {
  const bad = (problem: string) =>
    new UserError('BAD_FILE', `${source} is not a valid prompt pack: ${problem}. Nothing was imported.`);
  if (bytes.length > PACK_LIMITS.fileBytes)
    throw bad(`it is ${bytes.length} bytes, over the ${PACK_LIMITS.fileBytes}-byte limit`);
  const infos: UnzipFileInfo[] = [];
  try {
    // First pass: the central directory only (the filter declines every member).
    unzipSync(bytes, {
      filter: (info) => {
        infos.push(info);
        if (infos.length > PACK_LIMITS.members) throw bad(`more than ${PACK_LIMITS.members} members`);
        return false;
      },
    });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw bad('its zip structure is damaged or truncated');
  }
  if (infos.length === 0) throw bad('it has no members');
  const names = new Set<string>();
  let total = 0;
  for (const info of infos) {
    if (!MEMBER_NAME.test(info.name) || info.name.includes('..'))
      throw bad(`member name ${JSON.stringify(info.name.slice(0, 100))} is a path, not a plain file name`);
    if (names.has(info.name)) throw bad(`member ${info.name} appears twice`);
    names.add(info.name);
    if (info.compression !== 0 && info.compression !== 8)
      throw bad(`member ${info.name} uses compression method ${info.compression} (only stored and deflate are read)`);
    total += info.originalSize;
    if (info.originalSize > PACK_LIMITS.totalBytes || total > PACK_LIMITS.totalBytes)
      throw bad(`its members inflate to more than ${PACK_LIMITS.totalBytes} bytes`);
    if (info.compression === 8 && info.originalSize > Math.max(1024 * 1024, info.size * PACK_LIMITS.ratio))
      throw bad(`member ${info.name} inflates ${info.size} bytes to ${info.originalSize} (a zip bomb)`);
    if (info.compression === 0 && info.size !== info.originalSize)
      throw bad(`member ${info.name} is stored with two different sizes`);
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch {
    throw bad('a member is damaged or truncated');
  }
  const out = new Map<string, Buffer>();
  for (const info of infos) {
    const data = files[info.name];
    if (!data || data.length !== info.originalSize) throw bad(`member ${info.name} is damaged or truncated`);
    out.set(info.name, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  return out;
}
