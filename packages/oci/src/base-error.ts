/**
 * The one error contract of scratchpack. Every package's errors extend {@link ScratchpackError}: a stable
 * `code` (UPPER_SNAKE, branchable by callers), an optional `hint` (what to do next, one line), `temporary`
 * (worth retrying as is) and the standard `cause`. The CLI formats any `ScratchpackError` with `instanceof`
 * and prints `--json` errors in one shape ({@link errorJson}). Libraries never print or exit.
 */
export interface ScratchpackErrorOptions {
  hint?: string | undefined;
  temporary?: boolean;
  cause?: unknown;
}

export class ScratchpackError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly temporary: boolean;

  constructor(code: string, message: string, options: ScratchpackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint || undefined;
    this.temporary = options.temporary ?? false;
  }
}

/** The `--json` shape of an error: the same four fields for every package. */
export interface ErrorJson {
  code: string;
  message: string;
  hint?: string;
  temporary: boolean;
}

export function errorJson(err: ScratchpackError): ErrorJson {
  const out: ErrorJson = { code: err.code, message: err.message, temporary: err.temporary };
  if (err.hint) out.hint = err.hint;
  return out;
}

/** Thrown when an operation is cancelled through its `AbortSignal`. */
export class AbortedError extends ScratchpackError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super('ABORTED', `${what}: cancelled`, { cause: options.cause });
  }
}
