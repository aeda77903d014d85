/** Files zig is given that scratchpack writes itself (the linker script, the start-up memcpy/memset). */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '@scratchpack/oci';

/** Where they go unless told: one folder in the temp dir. */
export const HASHED_FILES_DIR = join(tmpdir(), 'scratchpack-ld');

const written = new Set<string>();

/**
 * `content` as the file `<dir>/<name>-<16 hex digits of its sha256><ext>`: a path named after its contents, so a
 * compile's command line (and zig's cache) is the same in every folder and from the bundled CLI. Written (temp name,
 * then rename) only when missing or different; in the default folder, checked once per process.
 */
export function hashedFile(name: string, ext: string, content: string, dir = HASHED_FILES_DIR): string {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
  const path = join(dir, `${name}-${hash}${ext}`);
  if (dir === HASHED_FILES_DIR && written.has(path)) return path;
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== content) {
    mkdirSync(dir, { recursive: true });
    writeFileAtomicSync(path, content);
  }
  if (dir === HASHED_FILES_DIR) written.add(path);
  return path;
}
