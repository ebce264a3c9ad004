/**
 * Streams the items of a large JSON file without holding the file: the elements of a top-level
 * array, the members of a top-level object (as [key, value], e.g. PubMedQA's records keyed by
 * PMID), or the elements of one array under a top-level key (BioC JSON's `documents`). A small
 * state machine over the characters (RFC 8259 strings and nesting) finds each item's extent; only
 * that item's text is kept and handed to JSON.parse.
 */
import { ByteCounter, badFile, cannotRead, readChunks, type Decoding } from './source.js';

export interface JsonItem {
  readonly key?: string;
  readonly value: unknown;
  /** 1-based line where the item starts. */
  readonly line: number;
  /** 1-based position of the item in its list or object. */
  readonly index: number;
  /** 0-based byte offset where the item starts (what locates it in a one-line file). */
  readonly byte: number;
}

export async function* streamJsonItems(
  file: string,
  options: { arrayKey?: string } & Decoding = {},
): AsyncGenerator<JsonItem> {
  const counter = new ByteCounter();
  let depth = 0;
  let inString = false;
  let escaped = false;
  let line = 1;
  let root: '[' | '{' | undefined;
  // Depth at which items live: 1 for a top-level array/object, 2 inside `arrayKey`'s array.
  const itemDepth = options.arrayKey === undefined ? 1 : 2;
  let collecting = false; // inside options.arrayKey's array (or at the root when there is none)
  let item = '';
  let itemLine = 0;
  let itemByte = 0;
  let index = 0;
  let itemKey: string | undefined;
  let pendingKey = '';
  let lastString = '';
  let stringBuffer = '';
  let sawAnything = false;
  let expectingKey = false; // between members of a root object (keyed mode)

  const finishItem = (): JsonItem => {
    try {
      const value: unknown = JSON.parse(item);
      const place = { line: itemLine, index, byte: itemByte };
      return itemKey === undefined ? { value, ...place } : { key: itemKey, value, ...place };
    } catch {
      throw badFile(
        file,
        { line: itemLine, record: `item ${index}`, byte: itemByte },
        'this JSON item is not valid JSON',
      );
    }
  };

  try {
    for await (const chunk of readChunks(file, options, counter)) {
      const ready: JsonItem[] = [];
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i] as string;
        const at = counter.add(chunk.charCodeAt(i));
        if (c === '\n') line++;
        const inItem = item !== '';
        if (inString) {
          if (inItem) item += c;
          else stringBuffer += c;
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') {
            inString = false;
            if (!inItem) lastString = stringBuffer.slice(0, -1);
          }
          continue;
        }
        if (/\s/.test(c) && !inItem) continue;
        if (!sawAnything) {
          sawAnything = true;
          if (c !== '[' && c !== '{') throw badFile(file, { line, byte: at }, 'expected a JSON array or object');
          root = c;
          depth = 1;
          collecting = options.arrayKey === undefined;
          expectingKey = root === '{' && itemDepth === 1;
          if (options.arrayKey !== undefined && root !== '{') {
            throw badFile(file, { line, byte: at }, `expected a JSON object with a "${options.arrayKey}" list`);
          }
          continue;
        }
        const startsItem = collecting && depth === itemDepth && !inItem && c !== ',' && c !== ']' && c !== '}';
        if (root === '{' && itemDepth === 1 && depth === 1 && !inItem) {
          // Between members of the root object: read `"key":` before the value.
          if (expectingKey && c === '"') {
            inString = true;
            stringBuffer = '';
            continue;
          }
          if (expectingKey && c === ':') {
            pendingKey = JSON.parse(`"${lastString}"`) as string;
            expectingKey = false;
            continue;
          }
          if (c === ',') {
            expectingKey = true;
            continue;
          }
        }
        if (startsItem) {
          item = '';
          itemLine = line;
          itemByte = at;
          index++;
          itemKey = root === '{' && itemDepth === 1 ? pendingKey : undefined;
        }
        if (startsItem || inItem) item += c;
        if (c === '"') {
          inString = true;
          if (!startsItem && !inItem) stringBuffer = '';
          continue;
        }
        if (options.arrayKey !== undefined && depth === 1 && c === ':') {
          collecting = false;
          if (JSON.parse(`"${lastString}"`) === options.arrayKey) collecting = true;
          continue;
        }
        if (c === '[' || c === '{') depth++;
        else if (c === ']' || c === '}') {
          depth--;
          if (depth < 0) throw badFile(file, { line, byte: at }, 'a closing bracket has no opening one');
          if (item !== '' && depth === itemDepth) {
            // A nested value closed back at item depth: the item ends here.
            ready.push(finishItem());
            item = '';
          } else if (item !== '' && depth === itemDepth - 1) {
            // A scalar item ended by the container's closing bracket.
            item = item.slice(0, -1);
            ready.push(finishItem());
            item = '';
          }
          if (options.arrayKey !== undefined && depth === 1) collecting = false;
        } else if (c === ',' && item !== '' && depth === itemDepth) {
          item = item.slice(0, -1);
          ready.push(finishItem());
          item = '';
          if (root === '{' && itemDepth === 1) expectingKey = true;
        }
      }
      yield* ready;
    }
  } catch (error) {
    if (error instanceof Error && error.name === 'UserError') throw error;
    throw cannotRead(file, error);
  }
  if (!sawAnything) throw badFile(file, undefined, 'the file is empty');
  if (depth !== 0 || inString)
    throw badFile(file, { line, byte: counter.bytes }, 'the JSON ends before its brackets and quotes are closed');
}
