/**
 * Documents with one entry per file (100,000 files: ~50 MB of JSON) are written as they are made, not assembled
 * as one object graph and one string first. A document is a plain value in which the long arrays are `Lazy`:
 * a function giving their items one by one. `jsonBytes` writes exactly what `JSON.stringify(doc, null, 2)` + a
 * newline writes (each item is stringified on its own and indented to its depth; JSON strings never hold a raw
 * newline), so the bytes and digests do not depend on which way a document was made. `JSON.stringify` of a
 * document with `Lazy` arrays gives the same text (`toJSON`), so either way gives one result.
 */

/** An array given item by item (each call of `items` starts over). */
export class Lazy<T = unknown> {
  constructor(readonly items: () => Iterable<T>) {}
  toJSON(): T[] {
    return [...this.items()];
  }
}

export const lazy = <T>(items: () => Iterable<T>): Lazy<T> => new Lazy(items);

/** Text is turned into bytes in pieces of about this many characters. */
const PIECE = 1 << 20;

/** Collects text into buffers of about `PIECE` characters (few large strings and buffers, not one huge one). */
class Pieces {
  private parts: string[] = [];
  private length = 0;
  readonly buffers: Buffer[] = [];

  push(s: string): void {
    this.parts.push(s);
    this.length += s.length;
    if (this.length >= PIECE) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    this.buffers.push(Buffer.from(this.parts.join(''), 'utf8'));
    this.parts = [];
    this.length = 0;
  }
}

/** An object written key by key (not an array, not one with its own `toJSON`, as `Lazy` and `Digest`). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { toJSON?: unknown }).toJSON !== 'function'
  );
}

/** Whether `v` (or something inside it) is `Lazy`: only those are written piece by piece. */
function holdsLazy(v: unknown): boolean {
  if (v instanceof Lazy) return true;
  if (Array.isArray(v)) return v.some(holdsLazy);
  if (isPlainObject(v)) return Object.values(v).some(holdsLazy);
  return false;
}

function write(v: unknown, indent: string, out: Pieces): void {
  if (!holdsLazy(v)) {
    const s = JSON.stringify(v, null, 2);
    out.push(indent && s.includes('\n') ? s.replaceAll('\n', `\n${indent}`) : s);
    return;
  }
  const inner = `${indent}  `;
  if (isPlainObject(v)) {
    let first = true;
    for (const [k, value] of Object.entries(v)) {
      // As JSON.stringify: properties that are undefined (or functions, symbols) are left out.
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
      out.push(`${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `);
      write(value, inner, out);
      first = false;
    }
    out.push(first ? '{}' : `\n${indent}}`);
    return;
  }
  let first = true;
  for (const item of v instanceof Lazy ? v.items() : (v as unknown[])) {
    out.push(`${first ? '[' : ','}\n${inner}`);
    // As JSON.stringify: an array item that cannot be written is `null`.
    write(
      item === undefined || typeof item === 'function' || typeof item === 'symbol' ? null : item,
      inner,
      out,
    );
    first = false;
  }
  out.push(first ? '[]' : `\n${indent}]`);
}

/** Two-space JSON of `doc` and a final newline, byte for byte `JSON.stringify(doc, null, 2) + '\n'`. */
export function jsonBytes(doc: unknown): Buffer {
  const out = new Pieces();
  write(doc, '', out);
  out.push('\n');
  out.flush();
  return out.buffers.length === 1 ? out.buffers[0]! : Buffer.concat(out.buffers);
}
