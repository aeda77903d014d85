/**
 * A deterministic file tree for the packing and push benchmarks: many small files plus a few large ones, part
 * text-like (compresses about 3–4×, like source code and configs) and part random (does not compress), so that
 * gzip spends its time as it does on real layers. The same `totalBytes` and `seed` always give the same bytes.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** mulberry32: a tiny seeded PRNG for decisions (sizes, words); returns [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` pseudo-random bytes, deterministic in (`seed`, `stream`): an AES-128-CTR keystream. */
export function randomBytesFor(seed: number, stream: string, n: number): Buffer {
  const key = createHash('sha256').update(`${seed}:${stream}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return cipher.update(Buffer.alloc(n));
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'zu',
  're',
  'tan',
  'sol',
  'ver',
  'ix',
  'on',
  'al',
  'pre',
  'ex',
  'ing',
  'ed',
  'st',
];
const PUNCT = [' ', ' ', ' ', ' ', ' ', ', ', '. ', '; ', ' = ', '(', ') ', ' {\n  ', '\n}\n', '\n', '\n  '];

/** A text-like corpus: words of a few hundred distinct forms with code-like punctuation. */
export function textCorpus(seed: number, bytes: number): Buffer {
  const rnd = prng(seed);
  const vocabulary = Array.from({ length: 600 }, () => {
    const n = 1 + Math.floor(rnd() * 4);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rnd() * SYLLABLES.length)];
    return w;
  });
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    // Zipf-like: a few words are very common.
    const word = vocabulary[Math.floor(vocabulary.length * rnd() ** 3)]!;
    const sep = PUNCT[Math.floor(rnd() * PUNCT.length)]!;
    const piece = word + sep;
    parts.push(piece);
    length += piece.length;
  }
  return Buffer.from(parts.join(''), 'latin1').subarray(0, bytes);
}

export interface TreeSummary {
  files: number;
  dirs: number;
  bytes: number;
  smallFiles: number;
  largeFiles: number;
}

/**
 * Write the tree into `dir` (which must exist and be empty): about half the bytes in small files (1–64 KiB,
 * 100 per directory, two thirds text), the other half in five large files (two text, two random, one mixed).
 */
export async function generateTree(dir: string, totalBytes: number, seed = 1): Promise<TreeSummary> {
  const rnd = prng(seed);
  const corpus = textCorpus(seed, 8 * 1024 * 1024);
  const text = (n: number) => {
    const out = Buffer.allocUnsafe(n);
    for (let filled = 0; filled < n; ) {
      const start = Math.floor(rnd() * (corpus.length - 4096));
      const take = Math.min(n - filled, 4096 + Math.floor(rnd() * 60_000), corpus.length - start);
      corpus.copy(out, filled, start, start + take);
      filled += take;
    }
    return out;
  };
  let files = 0;
  let dirs = 0;
  let bytes = 0;
  const smallBudget = Math.floor(totalBytes / 2);
  let small = 0;
  let dirIndex = -1;
  let inDir = 100;
  let current = dir;
  while (bytes < smallBudget) {
    if (inDir === 100) {
      dirIndex++;
      inDir = 0;
      current = join(dir, 'src', `d${String(dirIndex).padStart(3, '0')}`);
      await mkdir(current, { recursive: true });
      dirs++;
    }
    const size = Math.min(smallBudget - bytes, Math.floor(1024 * 64 ** rnd()));
    const isText = rnd() < 2 / 3;
    const content = isText ? text(size) : randomBytesFor(seed, `small-${small}`, size);
    const name = `f${String(inDir).padStart(3, '0')}.${isText ? 'txt' : 'bin'}`;
    await writeFile(join(current, name), content, { mode: rnd() < 0.1 ? 0o755 : 0o644 });
    bytes += size;
    files++;
    small++;
    inDir++;
  }
  const large = join(dir, 'large');
  await mkdir(large, { recursive: true });
  dirs++;
  const each = Math.floor((totalBytes - bytes) / 5);
  const kinds = ['text', 'random', 'text', 'random', 'mixed'] as const;
  for (const [i, kind] of kinds.entries()) {
    let content: Buffer;
    if (kind === 'text') content = text(each);
    else if (kind === 'random') content = randomBytesFor(seed, `large-${i}`, each);
    else {
      // 64 KiB blocks: random, zeros or text, like a binary with tables and padding.
      content = Buffer.alloc(each);
      for (let off = 0; off < each; off += 65536) {
        const n = Math.min(65536, each - off);
        const r = rnd();
        if (r < 0.4) randomBytesFor(seed, `mixed-${off}`, n).copy(content, off);
        else if (r < 0.7) text(n).copy(content, off);
      }
    }
    await writeFile(join(large, `blob${i}.${kind === 'text' ? 'txt' : 'bin'}`), content);
    bytes += each;
    files++;
  }
  return { files, dirs: dirs + 1, bytes, smallFiles: small, largeFiles: kinds.length };
}
