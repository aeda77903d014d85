/**
 * The builder's own error: its inputs are wrong (no Dockerfile, an unknown placeholder, a bad `--binary`
 * pair, a program name that is not a file name, …). Code `USAGE`, as a bad flag's: the CLI prints it as
 * one line plus a hint and exits 2. Failures of the parts it drives keep their own errors.
 */
import { ScratchpackError } from '@scratchpack/oci';

export class BuildInputError extends ScratchpackError {
  constructor(message: string, hint?: string) {
    super('USAGE', message, { hint });
  }
}
