/**
 * Errors of layout locking and the local image store. A `ScratchpackError` like `OciError` (a stable `code`
 * and a `hint`), kept apart so the store can grow without touching the core error list.
 */
import { ScratchpackError } from './base-error.ts';

export type StoreErrorCode =
  | 'OCI_LOCK_TIMEOUT'
  | 'STORE_IMAGE_NOT_FOUND'
  | 'STORE_INVALID_NAME'
  | 'STORE_INVALID_ARCHIVE'
  | 'STORE_ENTRY_INVALID';

export class StoreError extends ScratchpackError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, hint?: string) {
    super(code, message, { hint });
  }
}

/** Another writer held a layout's lock for longer than we were willing to wait. */
export class LockTimeoutError extends StoreError {
  constructor(
    readonly lockFile: string,
    readonly holder: number | undefined,
  ) {
    super(
      'OCI_LOCK_TIMEOUT',
      `timed out waiting for ${lockFile}${holder ? ` (held by process ${holder})` : ''}`,
      holder
        ? `another scratchpack is writing this layout; wait for process ${holder} or stop it (its lock is removed once it is gone)`
        : 'another scratchpack is writing this layout; try again (SCRATCHPACK_LOCK_TIMEOUT sets the wait, in seconds)',
    );
  }
}

/** No image of that name in the local store. */
export class ImageNotFoundError extends StoreError {
  constructor(
    readonly image: string,
    readonly available: string[],
  ) {
    super(
      'STORE_IMAGE_NOT_FOUND',
      `no image named ${image} in the local store`,
      available.length
        ? `\`scratchpack images\` lists them (${available.slice(0, 5).join(', ')}${available.length > 5 ? ', …' : ''}); for an OCI layout directory write a path (./dir, /abs/dir or oci:dir)`
        : 'the local store is empty (`scratchpack images` lists it); build with -t NAME, import or load an image first, or write a path (./dir or oci:dir) for an OCI layout directory',
    );
  }
}

/** A string that is not an image name (`[host[:port]/]path[:tag]`, lowercase path). */
export class InvalidImageNameError extends StoreError {
  constructor(
    readonly input: string,
    why: string,
  ) {
    super(
      'STORE_INVALID_NAME',
      `invalid image name ${JSON.stringify(input)}: ${why}`,
      'a name is [host[:port]/]path[:tag], lowercase, e.g. hello, hello:1.0 or ghcr.io/me/hello:1.0',
    );
  }
}

/** An archive given to `load` that is not an OCI archive (or is damaged). */
export class InvalidArchiveError extends StoreError {
  constructor(what: string, why: string) {
    super(
      'STORE_INVALID_ARCHIVE',
      `${what}: ${why}`,
      'load takes an OCI archive (as written by `scratchpack save`, `build -o x.tar` or `skopeo copy … oci-archive:`)',
    );
  }
}

/** The store's `index.json` entry for a name is not a descriptor (a hand edit, another tool): never followed. */
export class StoreEntryInvalidError extends StoreError {
  constructor(
    readonly image: string,
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      'STORE_ENTRY_INVALID',
      `the local store's entry for ${image} is broken (${file}: ${problems.join('; ')})`,
      `remove the name with \`scratchpack rmi ${image}\` and store the image again, or fix the entry in ${file}`,
    );
  }
}

/** What the store says about an entry it skips (the CLI prints it as a warning). */
export function skippedEntryNotice(
  file: string,
  entry: { at: number; name: string | undefined; problems: string[] },
): string {
  const what = entry.name ? `the entry for ${entry.name}` : `entry ${entry.at} (unnamed)`;
  const fix = entry.name
    ? `\`scratchpack rmi ${entry.name}\` removes it`
    : `remove manifests[${entry.at}] from ${file}`;
  return `skipped ${what} of ${file}: ${entry.problems.join('; ')}; ${fix}`;
}
