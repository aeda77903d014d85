import { dirname } from 'node:path';
import { ScratchpackError } from './base-error.ts';

/**
 * Typed errors of @scratchpack/oci. Every failure has its own class and a stable `code`, so callers
 * (the CLI) can branch on `err.code` and print one clear line plus a hint. Messages say what failed,
 * where, and what to do next. The library never prints or exits.
 */

export type OciErrorCode =
  | 'OCI_INVALID_DIGEST'
  | 'OCI_DIGEST_MISMATCH'
  | 'OCI_SIZE_MISMATCH'
  | 'OCI_INVALID_PLATFORM'
  | 'OCI_PLATFORM_MISMATCH'
  | 'OCI_PLATFORM_NOT_FOUND'
  | 'OCI_MEDIA_TYPE'
  | 'OCI_INVALID_JSON'
  | 'OCI_INVALID_DOCUMENT'
  | 'OCI_LAYOUT_NOT_FOUND'
  | 'OCI_TAG_NOT_FOUND'
  | 'OCI_AMBIGUOUS_TAG'
  | 'OCI_INVALID_REF'
  | 'OCI_BLOB_NOT_FOUND'
  | 'OCI_LAYER_NOT_FOUND'
  | 'OCI_UNSAFE_PATH'
  | 'OCI_HARDLINK_TARGET_MISSING'
  | 'OCI_INVALID_TAR'
  | 'OCI_INVALID_ENTRY'
  | 'OCI_INVALID_EPOCH'
  | 'OCI_VALIDATION_FAILED'
  | 'OCI_ROOTFS_NOT_EMPTY'
  | 'OCI_UNPACK_TOO_LARGE'
  | 'OCI_NO_SPACE';

export class OciError extends ScratchpackError {
  declare readonly code: OciErrorCode;

  constructor(code: OciErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** A string that should be `sha256:<64 lowercase hex>` but is not. */
export class InvalidDigestError extends OciError {
  constructor(readonly input: string) {
    super(
      'OCI_INVALID_DIGEST',
      `invalid digest ${JSON.stringify(input)}: expected "sha256:" and 64 lowercase hex characters`,
    );
  }
}

/** Bytes whose sha256 differs from the digest that names them. */
export class DigestMismatchError extends OciError {
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super('OCI_DIGEST_MISMATCH', `${what}: expected digest ${expected} but the bytes hash to ${actual}`, {
      hint: 'the blob is corrupted or was modified; rebuild or re-pull it',
    });
  }
}

/** Bytes whose length differs from the size a descriptor promises. */
export class SizeMismatchError extends OciError {
  constructor(
    readonly what: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super('OCI_SIZE_MISMATCH', `${what}: expected ${expected} bytes but got ${actual}`, {
      hint: 'the blob is truncated or was modified; rebuild or re-pull it',
    });
  }
}

export class InvalidPlatformError extends OciError {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super('OCI_INVALID_PLATFORM', `invalid platform ${JSON.stringify(input)}: ${reason}`, {
      hint: 'write platforms as os/arch[/variant], e.g. linux/amd64, linux/arm64/v8, linux/arm/v7',
    });
  }
}

/** An index entry's platform disagrees with its image config (OCI-NOTES #2). */
export class PlatformMismatchError extends OciError {
  constructor(message: string) {
    super('OCI_PLATFORM_MISMATCH', message, {
      hint: 'set the platform on the image with withPlatform() before adding it to the index',
    });
  }
}

/** A media type that is unknown here, or mixes the OCI and Docker families (OCI-NOTES #4, #5). */
export class MediaTypeError extends OciError {
  constructor(message: string) {
    super('OCI_MEDIA_TYPE', message);
  }
}

export class InvalidJsonError extends OciError {
  constructor(what: string, cause: unknown) {
    super('OCI_INVALID_JSON', `${what} is not valid JSON: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}

/** JSON that parses but does not have the shape of the document it should be (an index, a manifest). */
export class InvalidDocumentError extends OciError {
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly problems: string[],
  ) {
    const list =
      problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; … (${problems.length - 5} more)` : '');
    super('OCI_INVALID_DOCUMENT', `${what} is not ${expected}: ${list}`, {
      hint: 'the file or registry holds a broken document; rebuild or re-pull the image (image-spec: image-index.md, manifest.md)',
    });
  }
}

export class LayoutNotFoundError extends OciError {
  constructor(readonly dir: string) {
    super('OCI_LAYOUT_NOT_FOUND', `no OCI image layout at ${dir} (missing oci-layout or index.json)`, {
      hint: 'build one first (scratchpack build) or check the directory',
    });
  }
}

export class TagNotFoundError extends OciError {
  constructor(
    readonly dir: string,
    readonly tag: string,
    readonly available: string[],
  ) {
    super(
      'OCI_TAG_NOT_FOUND',
      `tag ${JSON.stringify(tag)} not found in ${dir}; available: ${available.length ? available.join(', ') : '(none)'}`,
    );
  }
}

export class AmbiguousTagError extends OciError {
  constructor(
    readonly dir: string,
    readonly available: string[],
  ) {
    super('OCI_AMBIGUOUS_TAG', `${dir} holds ${available.length} manifests; name one with ${dir}:<tag>`, {
      hint: `available: ${available.join(', ') || '(untagged entries only)'}`,
    });
  }
}

export class InvalidRefError extends OciError {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super('OCI_INVALID_REF', `invalid layout reference ${JSON.stringify(input)}: ${reason}`, {
      hint: 'write layout references as <dir>[:<tag>], e.g. dist/oci:latest',
    });
  }
}

export class BlobNotFoundError extends OciError {
  constructor(
    readonly where: string,
    readonly digest: string,
  ) {
    super('OCI_BLOB_NOT_FOUND', `blob ${digest} not found in ${where}`, {
      hint: 'the layout is incomplete; rebuild it or pull the image again',
    });
  }
}

export class LayerNotFoundError extends OciError {
  constructor(readonly digest: string) {
    super('OCI_LAYER_NOT_FOUND', `the image has no layer with digest or diff_id ${digest}`);
  }
}

/** A path in a layer or build input that is absolute, escapes with `..`, or leaves the target root. */
export class UnsafePathError extends OciError {
  constructor(
    readonly path: string,
    reason: string,
    readonly where?: string,
  ) {
    super('OCI_UNSAFE_PATH', `${where ? `${where}: ` : ''}unsafe path ${JSON.stringify(path)}: ${reason}`, {
      hint: 'layer paths must be relative and stay inside the image root',
    });
  }
}

/** A hardlink entry whose target is not a regular file stored before it (tar writes the file first). */
export class HardlinkTargetError extends OciError {
  constructor(
    readonly link: string,
    readonly target: string,
    where: string,
  ) {
    super(
      'OCI_HARDLINK_TARGET_MISSING',
      `${where}: hardlink ${JSON.stringify(link)} points at ${JSON.stringify(target)}, which is not a regular file earlier in the archive`,
      {
        hint: 'the archive is incomplete or was made from a partial file list: re-create it with the target file included (or with tar --hard-dereference)',
      },
    );
  }
}

/** Input that is not a (complete) tar archive. */
export class InvalidTarError extends OciError {
  constructor(
    message: string,
    readonly entry?: string,
    cause?: unknown,
  ) {
    super('OCI_INVALID_TAR', entry ? `${message} (at entry ${JSON.stringify(entry)})` : message, {
      hint: 'maybe the tar is truncated or corrupted, or it needs to be gunzipped?',
      cause,
    });
  }
}

/** A LayerEntry the layer builder refuses (duplicate path, stray whiteout name, bad mode, …). */
export class InvalidEntryError extends OciError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super('OCI_INVALID_ENTRY', `layer entry ${JSON.stringify(path)}: ${reason}`);
  }
}

export class InvalidEpochError extends OciError {
  constructor(readonly input: string) {
    super(
      'OCI_INVALID_EPOCH',
      `SOURCE_DATE_EPOCH=${JSON.stringify(input)} is not a non-negative integer of seconds`,
      {
        hint: 'set SOURCE_DATE_EPOCH to e.g. $(git log -1 --format=%ct)',
      },
    );
  }
}

/** `validate*` found problems; `problems` lists every one of them. */
export class ValidationError extends OciError {
  constructor(
    readonly subject: string,
    readonly problems: string[],
  ) {
    super(
      'OCI_VALIDATION_FAILED',
      `${subject} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
  }
}

/** The disk (or quota) filled up while writing `path`; the temp file was removed, nothing is half-written. */
export class NoSpaceError extends OciError {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const dir = dirname(path);
    super('OCI_NO_SPACE', `no space left on the device while writing ${path}`, {
      hint: `free space on the filesystem that holds ${dir} (\`df -h ${dir}\`), or write elsewhere (SCRATCHPACK_STORE, TMPDIR, -o); nothing was left half-written`,
      cause,
    });
  }
}

/** `err` as a NoSpaceError naming `path` when it is ENOSPC or EDQUOT, else `err`. */
export function withPathIfNoSpace(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' ? new NoSpaceError(path, err) : err;
}
