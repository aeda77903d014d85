/** `run`'s docker-run options, and the errors Docker gives exit codes to. */
import { formatPlatform, type Platform } from '@scratchpack/oci';
import type { Command } from 'commander';
import { ExitError, UsageError } from '../errors.ts';

export interface RunOptions {
  platform?: string;
  entrypoint?: string;
  env: string[];
  envFile: string[];
  maxSize?: number;
  workdir?: string;
  user?: string;
  volume: string[];
  network: string;
  hostname?: string;
  readOnly?: boolean;
  tty?: boolean;
  capAdd: string[];
  capDrop: string[];
  interactive?: boolean;
  rm?: boolean;
  sandbox: boolean;
  emulate?: boolean;
  pinCpu?: boolean;
  rootfs?: string;
  verbose?: boolean;
}

const collect = (v: string, a: string[]) => [...a, v];

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** A size as docker takes one: bytes, or a number with k, m, g or t (binary units; `b`, `ib` suffixes allowed). */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(v.trim());
  if (!m || Number(m[1]) <= 0)
    throw new UsageError(`invalid size "${v}"`, 'give a positive number of bytes, or with a unit: 500m, 2g');
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

export function runOptions(cmd: Command): Command {
  return cmd
    .option('--platform <platform>', 'which image of a multi-arch index to run (default: this host)')
    .option('--entrypoint <program>', 'override the image Entrypoint')
    .option(
      '-e, --env <KEY=VALUE>',
      'set an environment variable; KEY alone copies it from here (repeatable)',
      collect,
      [],
    )
    .option(
      '--env-file <file>',
      'read KEY=VALUE lines from a file, as docker (# comments; KEY alone copies it from here; repeatable, before -e)',
      collect,
      [],
    )
    .option(
      '--max-size <size>',
      'stop unpacking an image layer past this many bytes (e.g. 500m, 2g; default: the free space minus a margin)',
      parseSize,
    )
    .option(
      '-w, --workdir <dir>',
      'working directory inside the container (default: the image WorkingDir or /)',
    )
    .option(
      '-u, --user <user[:group]>',
      'user and group: names from the image /etc/passwd, /etc/group, or ids (default: the image User, or root)',
    )
    .option(
      '-v, --volume <host:container[:ro]>',
      'bind a host file or directory into the container (repeatable)',
      collect,
      [],
    )
    .option('--network <mode>', 'none (default: loopback only) or host (share this host network)', 'none')
    .option('--hostname <name>', 'the container hostname (default: random)')
    .option('--read-only', 'mount the image root read-only')
    .option('-t, --tty', 'give the program a terminal of its own, relayed to this one (when there is one)')
    .option(
      '--cap-add <cap>',
      'give container root a capability beyond the default set, or ALL (repeatable)',
      collect,
      [],
    )
    .option('--cap-drop <cap>', 'take a capability from the default set, or ALL (repeatable)', collect, [])
    .option('-i, --interactive', 'accepted for Docker compatibility: stdin is always passed through')
    .option('--rm', 'accepted for Docker compatibility: the container is always removed')
    .option(
      '--no-sandbox',
      'UNSAFE: run on the host filesystem without namespaces (static scratch images only)',
    )
    .option('--emulate', 'use qemu-user even when this host could run the binary natively')
    .option('--pin-cpu', "emulate the variant's oldest CPU model (as the tests do)")
    .option(
      '--rootfs <dir>',
      'unpack into this new or empty directory and keep it (default: a private temporary one, removed after)',
    )
    .option('--verbose', 'print stack traces with errors');
}

/** Docker's exit codes: 127 when the command is not in the image, 126 when it cannot be executed. */
export function notFound(
  program: string,
  status: 'missing' | 'not-executable',
  platform: Platform,
): ExitError {
  if (status === 'not-executable')
    return new ExitError(
      126,
      `${program}: permission denied: not executable in the image (${formatPlatform(platform)})`,
      {
        code: 'RUN_NOT_EXECUTABLE',
        hint: 'give the file an execute mode (COPY --chmod=755, or chmod before importing)',
      },
    );
  return new ExitError(127, `${program}: not found in the image (${formatPlatform(platform)})`, {
    code: 'RUN_NOT_FOUND',
    hint:
      program === '/bin/sh'
        ? 'the image has no shell: write CMD/ENTRYPOINT in exec form, e.g. CMD ["/hello"]'
        : 'check the path (the image PATH is searched for a bare name), the Dockerfile COPY destination and CMD/ENTRYPOINT',
  });
}
