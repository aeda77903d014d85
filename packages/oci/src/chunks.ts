/** Re-cutting a byte stream into fixed-size pieces: the registry's upload chunks. */
import type { Readable } from 'node:stream';

/** Re-cut a byte stream into chunks of exactly `size` bytes (the last one may be shorter). */
export async function* chunksOf(
  source: Readable | AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Buffer> {
  let buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const part of source as AsyncIterable<Uint8Array>) {
    let offset = 0;
    while (offset < part.length) {
      const n = Math.min(size - filled, part.length - offset);
      buffer.set(part.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === size) {
        yield buffer;
        buffer = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}
