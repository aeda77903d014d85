/**
 * Checks of where a command will write, before any work: a layout must be (or become) a directory and an
 * archive a file, and every folder above them must be a folder — instead of a raw ENOTDIR/EISDIR at the end.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from './errors.ts';

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Throw a UsageError when `dest` cannot be written as a `kind`; `what` names it (`--output`, `destination`). */
export async function checkOutputPath(dest: string, kind: 'layout' | 'archive', what: string): Promise<void> {
  const abs = resolve(dest);
  const s = await statOrUndefined(abs);
  if (s) {
    if (kind === 'layout' && !s.isDirectory())
      throw new UsageError(
        `${what} ${dest} exists and is not a directory: an OCI layout is a directory`,
        `choose another path or remove the file${what === '--output' ? ' (an output ending in .tar is written as an OCI archive)' : ''}`,
      );
    if (kind === 'archive' && s.isDirectory())
      throw new UsageError(
        `${what} ${dest} is a directory: an OCI archive is a file`,
        'choose a file name ending in .tar, or write a layout with type=oci-layout',
      );
    return;
  }
  for (let p = dirname(abs); ; p = dirname(p)) {
    const up = await statOrUndefined(p);
    if (up) {
      if (!up.isDirectory())
        throw new UsageError(
          `${what} ${dest}: ${p} is a file, not a directory`,
          'choose a path whose parent folders are directories',
        );
      return;
    }
    if (dirname(p) === p) return;
  }
}
