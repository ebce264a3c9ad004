/**
 * Files encrypted with AES-256-GCM in fixed-size chunks, for data too large to hold in one buffer
 * (checkpoints, tensors, backups) and never on disk in the clear. The construction follows the
 * STREAM online AEAD of Hoang, Reyhanitabar, Rogaway and Vizar (CRYPTO 2015), as used by age and
 * Tink: each chunk's nonce is its index, and its associated data names the file's context, the
 * index and whether it is the last chunk, so chunks cannot be reordered, swapped between files, or
 * cut off the end without detection. Every file has its own key, so counter nonces never repeat.
 *
 * Layout: "CLINSEAL" | version (1 byte) | then per chunk: plaintext length (u32 BE) | ciphertext | tag (16).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';

import { UserError } from '../common/errors.js';

const MAGIC = Buffer.from('CLINSEAL', 'ascii');
const VERSION = 1;
const HEADER_BYTES = MAGIC.length + 1;
const TAG_BYTES = 16;
export const CHUNK_BYTES = 1024 * 1024;

function nonceFor(index: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 4);
  return nonce;
}

const aadFor = (context: string, index: number, final: boolean) => Buffer.from(`${context}|${index}|${final ? 1 : 0}`);

const endsEarly = () => new UserError('BAD_FILE', 'The encrypted file ends early; it is truncated or damaged.');

/** How a sealed stream is damaged: a chunk that does not authenticate, a file cut short, or bytes after its end. */
export type SealedDamage = 'unauthentic' | 'truncated' | 'trailing';

const DAMAGE_TEXT: Record<SealedDamage, string> = {
  unauthentic: 'did not authenticate (altered, or a wrong key)',
  truncated: 'is cut short (the file was truncated)',
  trailing: 'is followed by unexpected bytes',
};

/**
 * A damaged sealed stream, naming the chunk (0-based) and the byte offset where it starts, so a
 * caller can say "damaged at chunk N". A BAD_FILE UserError: damage is never an internal error.
 */
export class SealedFileError extends UserError {
  constructor(
    readonly chunkIndex: number,
    readonly damage: SealedDamage,
    readonly offset: number,
  ) {
    super('BAD_FILE', `The encrypted file is damaged: chunk ${chunkIndex} (at byte ${offset}) ${DAMAGE_TEXT[damage]}.`);
  }

  /** "chunk N (at byte X) did not authenticate...", for a caller's own message. */
  get where(): string {
    return `chunk ${this.chunkIndex} (at byte ${this.offset}) ${DAMAGE_TEXT[this.damage]}`;
  }
}

/** Writes a sealed stream to an open file descriptor, buffering to whole chunks. */
export class SealedWriter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #index = 0;

  constructor(
    private readonly fd: number,
    private readonly key: Buffer,
    private readonly context: string,
  ) {
    writeSync(fd, Buffer.concat([MAGIC, Buffer.from([VERSION])]));
  }

  write(data: Buffer): void {
    this.#pending.push(data);
    this.#pendingBytes += data.length;
    if (this.#pendingBytes <= CHUNK_BYTES) return;
    const all = Buffer.concat(this.#pending); // one copy per write, however large
    let offset = 0;
    for (; all.length - offset > CHUNK_BYTES; offset += CHUNK_BYTES) {
      this.#emit(all.subarray(offset, offset + CHUNK_BYTES), false);
    }
    this.#pending = [all.subarray(offset)];
    this.#pendingBytes = all.length - offset;
  }

  /** Writes the final chunk (possibly empty) and fsyncs. */
  end(): void {
    this.#emit(Buffer.concat(this.#pending), true);
    this.#pending = [];
    fsyncSync(this.fd);
  }

  #emit(plaintext: Buffer, final: boolean): void {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonceFor(this.#index));
    cipher.setAAD(aadFor(this.context, this.#index, final));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(plaintext.length);
    writeSync(this.fd, Buffer.concat([length, ciphertext, cipher.getAuthTag()]));
    this.#index += 1;
  }
}

/** Reads a sealed stream from an open file descriptor, exactly the bytes asked for. */
export class SealedReader {
  #position: number;
  #index = 0;
  #buffer: Buffer = Buffer.alloc(0);
  #final = false;

  constructor(
    private readonly fd: number,
    private readonly key: Buffer,
    private readonly context: string,
    start = 0,
  ) {
    const header = this.#readRaw(start, HEADER_BYTES);
    if (!header.subarray(0, MAGIC.length).equals(MAGIC) || header[MAGIC.length] !== VERSION) {
      throw new UserError('BAD_FILE', 'The file is not an encrypted ClinPrompt file (bad header).');
    }
    this.#position = start + HEADER_BYTES;
  }

  read(bytes: number): Buffer {
    const parts: Buffer[] = [];
    for (let have = 0; have < bytes;) {
      if (this.#buffer.length === 0) {
        // authenticated end reached but more was expected: the content itself is short
        if (this.#final) throw new SealedFileError(this.#index, 'truncated', this.#position);
        this.#buffer = this.#nextChunk();
        continue;
      }
      const take = Math.min(bytes - have, this.#buffer.length);
      parts.push(this.#buffer.subarray(0, take));
      this.#buffer = this.#buffer.subarray(take);
      have += take;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes);
  }

  /** Confirms that the stream was read to its authenticated end and nothing follows it. */
  end(): void {
    while (!this.#final && this.#buffer.length === 0) this.#buffer = this.#nextChunk();
    const trailing = readSync(this.fd, Buffer.alloc(1), 0, 1, this.#position);
    if (this.#buffer.length > 0 || trailing > 0) throw new SealedFileError(this.#index, 'trailing', this.#position);
  }

  #nextChunk(): Buffer {
    const truncated = () => new SealedFileError(this.#index, 'truncated', this.#position);
    const length = this.#readRaw(this.#position, 4, truncated).readUInt32BE(0);
    if (length > CHUNK_BYTES) throw new SealedFileError(this.#index, 'unauthentic', this.#position);
    const body = this.#readRaw(this.#position + 4, length + TAG_BYTES, truncated);
    const ciphertext = body.subarray(0, length);
    const tag = body.subarray(length);
    const plaintext = this.#tryOpen(ciphertext, tag, false) ?? this.#tryOpen(ciphertext, tag, true);
    if (!plaintext) throw new SealedFileError(this.#index, 'unauthentic', this.#position);
    this.#position += 4 + length + TAG_BYTES;
    this.#index += 1;
    return plaintext;
  }

  #tryOpen(ciphertext: Buffer, tag: Buffer, final: boolean): Buffer | undefined {
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonceFor(this.#index));
    decipher.setAAD(aadFor(this.context, this.#index, final));
    decipher.setAuthTag(tag);
    try {
      const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      this.#final = final;
      return plaintext;
    } catch {
      return undefined;
    }
  }

  #readRaw(position: number, bytes: number, short: () => Error = endsEarly): Buffer {
    const out = Buffer.alloc(bytes);
    const read = readSync(this.fd, out, 0, bytes, position);
    if (read < bytes) throw short();
    return out;
  }
}

/** Seals `data` into a new file (exclusive create: never overwrites). */
export function writeSealedFile(file: string, key: Buffer, context: string, data: Buffer): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    const writer = new SealedWriter(fd, key, context);
    writer.write(data);
    writer.end();
  } finally {
    closeSync(fd);
  }
}

export function readSealedFile(file: string, key: Buffer, context: string, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const reader = new SealedReader(fd, key, context);
    const data = reader.read(bytes);
    reader.end();
    return data;
  } finally {
    closeSync(fd);
  }
}
