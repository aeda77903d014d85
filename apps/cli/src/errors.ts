/**
 * The CLI edge: the only place that prints errors and chooses exit codes. Library errors are
 * `ScratchpackError`s (a `code` and often a `hint`); they are printed once, as one line plus a hint.
 */
import { type ErrorJson, errorJson, ScratchpackError } from '@scratchpack/oci';
import { safeText } from './safe-text.ts';

/** A usage error: a bad flag or argument. Exit code 2. */
export class UsageError extends ScratchpackError {
  declare readonly code: 'USAGE';
  constructor(message: string, hint?: string) {
    super('USAGE', message, { hint });
    this.name = 'UsageError';
  }
}

/** An error with an explicit exit status (e.g. the program run by `scratchpack run` failed). */
export class ExitError extends ScratchpackError {
  readonly status: number;
  constructor(status: number, message = '', opts: { code?: string; hint?: string } = {}) {
    super(opts.code ?? 'EXIT', message, { hint: opts.hint });
    this.status = status;
  }
}

/** What is read of an error that is not a `ScratchpackError`: Node's and libraries' `code` (ERR_…, UND_ERR_…). */
interface Foreign {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** A system error from a file or process operation, as its code and `<call> <path>: <what went wrong>`. */
function systemError(err: unknown): { code: string; message: string } | undefined {
  const sys = err as NodeJS.ErrnoException;
  if (!(sys instanceof Error) || typeof sys.syscall !== 'string' || typeof sys.code !== 'string')
    return undefined;
  const what = sys.path ? `${sys.syscall} ${sys.path}` : sys.syscall;
  const reason = sys.message.replace(/^[A-Z]+: /, '').replace(/, .*$/, '');
  return { code: sys.code, message: `${what}: ${reason}` };
}

/**
 * Format an error as `error [CODE]: <message>` (+ `hint: …`), without stack traces for known errors. A
 * `ScratchpackError` is known: its code, message and hint. A system error names its call and path. Anything
 * else is printed with its `code` when it has one (never its other fields), else with a few stack lines. Control
 * and format characters are escaped.
 */
export function formatError(err: unknown, verbose = false): string {
  // Messages carry outside text (registry bodies, tar names, config fields): escaped (src/safe-text.ts).
  return safeText(formatRaw(err, verbose), { multiline: true });
}

function formatRaw(err: unknown, verbose: boolean): string {
  const lines: string[] = [];
  const sys = systemError(err);
  if (sys) {
    lines.push(`error [${sys.code}]: ${sys.message}`);
    if (verbose && err instanceof Error && err.stack) lines.push(err.stack);
    return lines.join('\n');
  }
  const known = err instanceof ScratchpackError ? err : undefined;
  const e = (err ?? {}) as Foreign;
  const code = known ? known.code : typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  lines.push(`error${code && code !== 'USAGE' ? ` [${code}]` : ''}: ${message}`);
  // An AggregateError's errors, or a registry's error entries.
  if (Array.isArray(e.errors) && !message.includes('\n')) {
    for (const sub of e.errors) lines.push(`  - ${(sub as Error).message}`);
  }
  if (known?.hint) lines.push(`hint: ${known.hint}`);
  if (verbose && err instanceof Error && err.stack) lines.push(err.stack);
  else if (!code && err instanceof Error && err.stack)
    lines.push(err.stack.split('\n').slice(1, 4).join('\n'));
  return lines.join('\n');
}

/**
 * The `--json` shape of any error: `errorJson` for a `ScratchpackError`; a system error's code with its call and
 * path; anything else with its own `code` or `ERROR`. Never a stack, never a foreign error's other fields.
 */
export function errorJsonFor(err: unknown): ErrorJson {
  if (err instanceof ScratchpackError) return errorJson(err);
  const sys = systemError(err);
  if (sys) return { ...sys, temporary: false };
  const e = (err ?? {}) as Foreign;
  return {
    code: typeof e.code === 'string' ? e.code : 'ERROR',
    message: typeof e.message === 'string' ? e.message : String(err),
    temporary: false,
  };
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof ExitError) return err.status;
  // A bad flag, or a library's input error with the same code (e.g. @scratchpack/builder's BuildInputError).
  if (err instanceof UsageError || (err instanceof ScratchpackError && err.code === 'USAGE')) return 2;
  // commander's own errors (main returns most of them before they get here).
  const code = (err as Foreign | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('commander.')) return 2;
  return 1;
}
