/**
 * Typed errors of @scratchpack/runtime: each with a stable `code` and a hint; the CLI prints them. A bad input
 * (a volume spec, a user the image does not define) has the code `USAGE`, as the CLI's own usage errors.
 */
import { ScratchpackError } from '@scratchpack/oci';

/** A bad input to the runtime (exit status 2 at the CLI, as a bad flag). */
export class RuntimeInputError extends ScratchpackError {
  declare readonly code: 'USAGE';
  constructor(message: string, hint?: string) {
    super('USAGE', message, { hint });
    this.name = 'RuntimeInputError';
  }
}

export class BwrapMissingError extends ScratchpackError {
  declare readonly code: 'BWRAP_MISSING';
  declare readonly hint: string;
  constructor() {
    super(
      'BWRAP_MISSING',
      'cannot run the image in a sandbox: bwrap (bubblewrap) is not installed or not on PATH',
      {
        hint: "install Debian's bubblewrap (`apt-get install bubblewrap`, or `pnpm test:setup`); `--no-sandbox` runs on the host instead (unsafe)",
      },
    );
    this.name = 'BwrapMissingError';
  }
}

export class SandboxUnavailableError extends ScratchpackError {
  declare readonly code: 'SANDBOX_UNAVAILABLE';
  declare readonly hint: string;
  constructor(message: string, hint: string) {
    super('SANDBOX_UNAVAILABLE', message, { hint });
    this.name = 'SandboxUnavailableError';
  }
}
