/** The official hello-world sizes, copied into `reference/hello-world-sizes.tsv` with their source. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ReferenceSize {
  platform: string;
  /** The docker-library directory, e.g. `arm32v7`. */
  archDir: string;
  elfBytes: number;
  gzip9Bytes: number;
}

/** Parse the TSV: `#` lines are comments; columns platform, arch dir, ELF bytes, gzip -9n bytes. */
export function parseReference(text: string): ReferenceSize[] {
  const out: ReferenceSize[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const cols = line.split('\t');
    const [platform, archDir, elf, gz] = cols;
    const elfBytes = Number(elf);
    const gzip9Bytes = Number(gz);
    if (
      cols.length !== 4 ||
      !platform ||
      !archDir ||
      !Number.isSafeInteger(elfBytes) ||
      !Number.isSafeInteger(gzip9Bytes)
    ) {
      throw new SyntaxError(
        `hello-world-sizes.tsv line ${i + 1}: expected platform, dir, bytes, gzip bytes: "${raw}"`,
      );
    }
    out.push({ platform, archDir, elfBytes, gzip9Bytes });
  });
  return out;
}

export const REFERENCE_FILE = join(import.meta.dirname, '..', 'reference', 'hello-world-sizes.tsv');

export function loadReference(path = REFERENCE_FILE): ReferenceSize[] {
  return parseReference(readFileSync(path, 'utf8'));
}
