/**
 * Documents with one entry per file (100,000 files: ~40 MB of JSON) are written as they are made, not assembled
 * as one object graph and one string first. A document is a plain value in which the long arrays are `Lazy`:
 * a function giving their items one by one. `jsonBytes` writes exactly what `JSON.stringify(doc)` + a newline
 * writes (compact, as syft writes its SBOMs by default: `jq .` shows them indented), so the bytes and digests do
 * not depend on which way a document was made. `JSON.stringify` of a document with `Lazy` arrays gives the same
 * text (`toJSON`), so either way gives one result.
 */
import { ContentSpool, Hasher } from '@scratchpack/oci';

/** An array given item by item (each call of `items` starts over); an item may be a `JsonItems` run. */
export class Lazy<T = unknown> {
  constructor(readonly items: () => Iterable<T | JsonItems>) {}
  toJSON(): T[] {
    const out: T[] = [];
    for (const item of this.items()) {
      if (item instanceof JsonItems) for (const one of JSON.parse(`[${item.text}]`) as T[]) out.push(one);
      else out.push(item);
    }
    return out;
  }
}

export const lazy = <T>(items: () => Iterable<T | JsonItems>): Lazy<T> => new Lazy(items);

/**
 * Consecutive items of a `Lazy` array given as their JSON text (what `JSON.stringify` writes of each), joined with
 * commas: the per-file entries come as runs of a few hundred, so that a document of 100,000 files is not 100,000
 * objects made, handed on and written one by one. `text` is never empty.
 */
export class JsonItems {
  constructor(readonly text: string) {}
}

/** UTF-16 units of entries joined into one `JsonItems` run. */
const RUN = 1 << 16;

/**
 * The items `entry` gives for each of `list`, as runs (`JsonItems`). `entry` returns the JSON text of one item,
 * or of several joined with commas (a file and the relationships it has), or '' for none.
 */
export function* jsonRuns<T>(list: readonly T[], entry: (t: T, n: number) => string): Generator<JsonItems> {
  let text = '';
  for (let n = 0; n < list.length; n++) {
    const e = entry(list[n]!, n);
    if (e === '') continue;
    text = text === '' ? e : `${text},${e}`;
    if (text.length >= RUN) {
      yield new JsonItems(text);
      text = '';
    }
  }
  if (text !== '') yield new JsonItems(text);
}

/**
 * A JSON text maker from a fixed layout, written as a tagged template of the value as `JSON.stringify(v)` writes
 * it, with `${n}` (any placeholder) where each argument goes, already as JSON (`q`): an entry is its values joined
 * with constant text.
 */
export function jsonTemplate(
  strings: TemplateStringsArray,
  ..._places: unknown[]
): (...values: string[]) => string {
  return (...values) => {
    let out = strings[0]!;
    for (let k = 0; k < values.length; k++) out += values[k]! + strings[k + 1]!;
    return out;
  };
}

/** Strings JSON.stringify writes as they are, between quotes: no `"`, `\\`, control character or surrogate. */
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** A JSON string literal (`JSON.stringify(s)`; a plain string, the common case, is quoted without it). */
export const q = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

/** Bytes are written into buffers of at least this size (few large buffers, never one huge string). */
const PIECE = 1 << 20;
/** UTF-16 units of text joined before they are written (one write per many entries, not one per entry). */
const TEXT = 1 << 16;

/** Pieces a sink may be writing at once (in libuv's thread pool) before the document waits for one to finish. */
const IN_FLIGHT = 4;

/**
 * Text written as UTF-8 straight into buffers. The first one has the room the caller expects the document to
 * need (`reserve`): pages never written are never touched, so a generous guess costs address space, not memory,
 * and a document that fits is returned without being copied (copying ~50 MB into fresh pages costs as much as
 * writing it). Past it, pieces of `PIECE` bytes follow and are joined at the end.
 */
class Pieces {
  readonly buffers: Buffer[] = [];
  private buf: Buffer;
  private at = 0;
  /** Text not yet written: small strings are joined first, so that a write to the buffer takes many entries. */
  private text = '';
  /** With an asynchronous sink: buffers whose writes finished, writes in flight, the first failure, a waiter. */
  private readonly free: Buffer[] = [];
  private inFlight = 0;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  /**
   * With `sink`, each full buffer goes there and nothing is held: the buffer is used again once the promise the
   * sink returns settles (see `drain`).
   */
  constructor(
    reserve: number,
    private readonly sink?: (piece: Buffer) => Promise<void>,
  ) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(PIECE, sink ? 0 : reserve));
  }

  push(s: string): void {
    this.text += s;
    if (this.text.length >= TEXT) this.flush();
  }

  private flush(): void {
    const s = this.text;
    this.text = '';
    // A UTF-16 unit is at most 3 bytes of UTF-8: seal the buffer unless `s` surely fits.
    if (this.at + 3 * s.length > this.buf.length) {
      this.seal();
      if (3 * s.length > PIECE) {
        this.emit(Buffer.from(s, 'utf8'), undefined);
        return;
      }
    }
    this.at += this.buf.write(s, this.at, 'utf8');
  }

  /** Hand `piece` on; `whole`: the buffer it is a view of, to use again once the sink is done with it. */
  private emit(piece: Buffer, whole: Buffer | undefined): void {
    if (!this.sink) {
      this.buffers.push(piece);
      return;
    }
    this.inFlight++;
    this.sink(piece)
      .then(
        () => {
          if (whole) this.free.push(whole);
        },
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => {
        this.inFlight--;
        this.wake?.();
      });
  }

  seal(): void {
    if (this.text) this.flush();
    if (this.at > 0) {
      this.emit(this.buf.subarray(0, this.at), this.buf);
      this.buf = this.sink ? (this.free.pop() ?? Buffer.allocUnsafeSlow(PIECE)) : Buffer.allocUnsafe(PIECE);
    }
    this.at = 0;
  }

  /** Whether the sink has as many pieces in flight as it may: time to `drain`. */
  get backlogged(): boolean {
    return this.inFlight >= IN_FLIGHT;
  }

  /** Wait until at most `max` pieces are in flight; a sink's failure is thrown here. */
  async drain(max = IN_FLIGHT - 1): Promise<void> {
    while (this.inFlight > max) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    if (this.failure) throw this.failure.error;
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

/** Items of a `Lazy` array written between two pauses of `write` (where a spooled document may wait for its sink). */
const PAUSE_EVERY = 256;

/** A value written as it is: with nothing `Lazy` inside (JSON.stringify does it whole). */
function writeWhole(v: unknown, out: Pieces): boolean {
  if (holdsLazy(v)) return false;
  out.push(JSON.stringify(v));
  return true;
}

/**
 * `v` as JSON.stringify(v) writes it; pauses (yields) after each run of items (`JsonItems`, a few hundred entries) and
 * every `PAUSE_EVERY` other items of a `Lazy` array.
 */
function* write(v: unknown, out: Pieces): Generator<void, void, undefined> {
  if (writeWhole(v, out)) return;
  if (isPlainObject(v)) {
    let first = true;
    for (const [k, value] of Object.entries(v)) {
      // As JSON.stringify: properties that are undefined (or functions, symbols) are left out.
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
      out.push(`${first ? '{' : ','}${JSON.stringify(k)}:`);
      yield* write(value, out);
      first = false;
    }
    out.push(first ? '{}' : '}');
    return;
  }
  let n = 0;
  for (const item of v instanceof Lazy ? v.items() : (v as unknown[])) {
    if (item instanceof JsonItems) {
      out.push(n === 0 ? `[${item.text}` : `,${item.text}`);
      n++;
      yield;
      continue;
    }
    // As JSON.stringify: an array item that cannot be written is `null`.
    const value = item === undefined || typeof item === 'function' || typeof item === 'symbol' ? null : item;
    out.push(n === 0 ? '[' : ',');
    if (!writeWhole(value, out)) yield* write(value, out);
    if (++n % PAUSE_EVERY === 0) yield;
  }
  out.push(n === 0 ? '[]' : ']');
}

/** Write `doc` and the final newline into `out` at once (no pauses). */
function writeAll(doc: unknown, out: Pieces): void {
  const steps = write(doc, out);
  while (!steps.next().done);
  out.push('\n');
  out.seal();
}

/**
 * Compact JSON of `doc` and a final newline, byte for byte `JSON.stringify(doc) + '\n'`. `reserve`: the bytes it
 * is expected to take (see `Pieces`); any guess gives the same bytes.
 */
export function jsonBytes(doc: unknown, reserve = 0): Buffer {
  const out = new Pieces(reserve);
  writeAll(doc, out);
  return out.buffers.length === 1 ? out.buffers[0]! : Buffer.concat(out.buffers);
}

/** A document written to a temp file as it is made (never held whole): the file, its digest and size. */
export interface SpooledJson {
  file: string;
  digest: string;
  size: number;
}

/**
 * `jsonBytes(doc)`'s bytes, written to a temp file of this process (removed at exit) as they are made and hashed
 * on the way: memory does not grow with the document. The writes go through libuv's thread pool while the next
 * pieces are made (at 100,000 files, writing the 40 MB into the page cache took this thread about as long as
 * making them); at most `IN_FLIGHT` 1 MiB pieces wait.
 */
export async function jsonSpooled(doc: unknown): Promise<SpooledJson> {
  const spool = await ContentSpool.create();
  const hasher = new Hasher();
  const out = new Pieces(0, (piece) => {
    hasher.update(piece);
    return spool.appendAsync(piece);
  });
  try {
    for (const _ of write(doc, out)) if (out.backlogged) await out.drain();
    out.push('\n');
    out.seal();
    await out.drain(0);
    spool.close();
  } catch (err) {
    // Every write settles before the file goes: none may land on a descriptor reused by then.
    await out.drain(0).catch(() => {});
    await spool.remove();
    throw err;
  }
  return { file: spool.path, digest: hasher.digest().toString(), size: hasher.size };
}
