/**
 * `scratchpack run`: unpack one platform's rootfs to a temporary directory and run its entrypoint + cmd
 * with the image's env and working directory — natively, or under qemu-user for other architectures.
 * No daemon, no root. The program is not chrooted: under qemu-user, `-L <rootfs>` makes its absolute
 * paths resolve inside the rootfs first; natively it runs with the rootfs as its working directory.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { type ContainerConfig, extractRootfs, formatPlatform } from '@scratchpack/oci';
import { findPlatform, QemuMissingError, qemuFor } from '@scratchpack/toolchain';
import type { Command } from 'commander';
import { ExitError, UsageError } from '../errors.ts';
import { openLayoutRef, pickImage } from '../layout-ref.ts';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Entrypoint + Cmd as Docker combines them; `args` (after `--`) replace Cmd. */
export function commandLine(config: ContainerConfig, args: string[], entrypoint?: string): string[] {
  const ep = entrypoint !== undefined ? (entrypoint === '' ? [] : [entrypoint]) : (config.Entrypoint ?? []);
  const cmd = args.length > 0 || entrypoint !== undefined ? args : (config.Cmd ?? []);
  return [...ep, ...cmd];
}

/** The environment the program sees: the image's Env (PATH defaulted as Docker does), then `-e` overrides. */
export function programEnv(config: ContainerConfig, overrides: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of [...(config.Env ?? []), ...overrides]) {
    const i = kv.indexOf('=');
    if (i <= 0) {
      if (overrides.includes(kv)) {
        const v = process.env[kv];
        if (v !== undefined) env[kv] = v;
        continue;
      }
      throw new UsageError(`invalid environment entry "${kv}": expected KEY=VALUE`);
    }
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  env.PATH ??= DEFAULT_PATH;
  return env;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Find the program inside the rootfs: absolute, relative to the workdir, or on the image's PATH. */
async function locate(
  root: string,
  program: string,
  workdir: string,
  path: string,
): Promise<string | undefined> {
  if (program.includes('/')) {
    const inImage = posix.isAbsolute(program) ? program : posix.join(workdir, program);
    const host = join(root, posix.normalize(inImage));
    return (await isFile(host)) ? host : undefined;
  }
  for (const dir of path.split(':').filter((d) => posix.isAbsolute(d))) {
    const host = join(root, posix.join(dir, program));
    if (await isFile(host)) return host;
  }
  return undefined;
}

export function runCommand(program: Command): void {
  program
    .command('run')
    .description(
      "run an image's entrypoint + cmd from an OCI layout, natively or under qemu-user (no daemon)",
    )
    .argument('<image>', 'a name in the local store (hello) or an OCI layout and tag (dist/oci:latest)')
    .argument('[args...]', 'arguments replacing the image Cmd (put them after --)')
    .option('--platform <platform>', 'which image of a multi-arch index to run (default: this host)')
    .option('--rm', 'remove the unpacked container afterwards (always done; accepted as docker run has it)')
    .option('--entrypoint <program>', 'override the image entrypoint')
    .option(
      '-e, --env <KEY=VALUE>',
      'set an environment variable (repeatable)',
      (v: string, a: string[]) => [...a, v],
      [],
    )
    .option('-w, --workdir <dir>', 'working directory inside the image (default: its WorkingDir or /)')
    .option('--emulate', 'use qemu-user even when this host could run the binary natively')
    .option('--pin-cpu', "emulate the variant's oldest CPU model (as the tests do)")
    .option(
      '--rootfs <dir>',
      'unpack into this empty directory and keep it (default: a temporary one, removed after)',
    )
    .action(
      async (
        ref: string,
        args: string[],
        opts: {
          platform?: string;
          entrypoint?: string;
          env: string[];
          workdir?: string;
          emulate?: boolean;
          pinCpu?: boolean;
          rootfs?: string;
        },
      ) => {
        const { subject } = await openLayoutRef(ref);
        const { image, platform } = await pickImage(subject, opts.platform, ref);
        const config = (await image.configFile()).config ?? {};
        const argv = commandLine(config, args, opts.entrypoint);
        if (argv.length === 0) {
          throw new UsageError(
            `${ref} (${formatPlatform(platform)}) has no Entrypoint or Cmd`,
            'pass a command after --',
          );
        }
        const env = programEnv(config, opts.env);
        const workdir = opts.workdir ?? (config.WorkingDir || '/');
        let spec: ReturnType<typeof findPlatform> | undefined;
        try {
          spec = findPlatform(formatPlatform(platform));
        } catch {
          spec = undefined;
        }
        if (!spec)
          throw new UsageError(`cannot run ${formatPlatform(platform)}: no qemu-user mapping for it`);
        const runner = qemuFor(spec, { pinCpu: opts.pinCpu === true, forceEmulation: opts.emulate === true });
        if (runner.kind === 'qemu' && !runner.command) throw new QemuMissingError(spec);

        const root = opts.rootfs ?? (await mkdtemp(join(tmpdir(), 'scratchpack-run-')));
        try {
          await mkdir(root, { recursive: true });
          await extractRootfs(image, root);
          const exe = await locate(root, argv[0]!, workdir, env.PATH ?? DEFAULT_PATH);
          if (!exe) {
            throw new UsageError(
              `${argv[0]}: not found in the image (${formatPlatform(platform)})`,
              argv[0] === '/bin/sh'
                ? 'the image has no shell: write CMD/ENTRYPOINT in exec form, e.g. CMD ["/hello"]'
                : 'check the Dockerfile COPY destination and CMD/ENTRYPOINT',
            );
          }
          const cwd = join(root, posix.normalize(posix.isAbsolute(workdir) ? workdir : `/${workdir}`));
          await mkdir(cwd, { recursive: true });
          const command = runner.kind === 'native' ? exe : runner.command!;
          const cmdArgs =
            runner.kind === 'native'
              ? argv.slice(1)
              : [...runner.prefixArgs, '-L', root, '-0', argv[0]!, exe, ...argv.slice(1)];
          const status = await new Promise<number>((resolve, reject) => {
            const child = spawn(command, cmdArgs, { cwd, env, stdio: 'inherit' });
            const forward = (sig: NodeJS.Signals) => child.kill(sig);
            process.on('SIGINT', forward).on('SIGTERM', forward);
            child.on('error', reject);
            child.on('exit', (code, signal) => {
              process.off('SIGINT', forward).off('SIGTERM', forward);
              resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
            });
          });
          if (status !== 0) throw new ExitError(status);
        } finally {
          if (!opts.rootfs) await rm(root, { recursive: true, force: true });
        }
      },
    );
}
