/**
 * `scratchpack run`: a container without a daemon or root. One platform's rootfs is unpacked into a
 * private temporary directory and becomes `/` of the program in its own user, mount, PID, IPC, UTS and
 * network namespaces (bubblewrap); foreign architectures run under qemu-user inside the sandbox.
 * Arguments after the image belong to the program, as with `docker run`. `--no-sandbox` (unsafe) runs the
 * program on the host's filesystem instead.
 */
import { randomBytes } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { extractRootfs, formatPlatform, type Image, type ImageIndex } from '@scratchpack/oci';
import { findPlatform, QemuMissingError, qemuFor } from '@scratchpack/toolchain';
import type { Source } from '@scratchpack/transport';
import type { Command } from 'commander';
import { ExitError, UsageError } from '../errors.ts';
import { openImage, pickImage, resolveImage } from '../image-ref.ts';
import { clientOptions } from '../registry-options.ts';
import { BwrapMissingError, findBwrap, sandboxArgs, type Volume } from '../run/bwrap.ts';
import { parseVolume, prepareContainer } from '../run/container.ts';
import { runOnHost } from '../run/host.ts';
import { commandLine, DEFAULT_PATH, programEnv, resolveUser } from '../run/image-config.ts';
import { locate } from '../run/locate.ts';
import { notFound, type RunOptions, runOptions } from '../run/options.ts';
import { hasBinfmt, runSandboxed } from '../run/sandbox.ts';
import { privateDir, withPrivateDir } from '../run/workspace.ts';
import { copyBetween } from './copy.ts';

export { commandLine, programEnv };

async function run(ref: string, rawArgs: string[], opts: RunOptions, notes: (line: string) => void) {
  const args = rawArgs[0] === '--' ? rawArgs.slice(1) : rawArgs;
  if (opts.network !== 'none' && opts.network !== 'host')
    throw new UsageError(
      `--network ${opts.network} is not supported`,
      'use --network none (default) or --network host',
    );
  const volumes: Volume[] = [];
  for (const v of opts.volume) volumes.push(await parseVolume(v));
  const source = await openRunImage(ref, opts, notes);
  try {
    await runFrom(source.subject, ref, args, opts, volumes, notes);
  } finally {
    await source.close();
  }
}

/**
 * The image `run REF` runs, resolved as every command resolves it (so `verify REF` checks this very image): a
 * layout, an archive or a stored name as it is; a registry image is pulled into the store first, under its
 * name, as `docker run` does. Its layers are checked against their digests as they are unpacked.
 */
async function openRunImage(ref: string, opts: RunOptions, notes: (line: string) => void): Promise<Source> {
  const resolved = await resolveImage(ref);
  if (resolved.kind !== 'registry') return openImage(ref);
  notes(`${ref} is not in the local store: pulling it`);
  const client = await clientOptions({});
  const pulled = await copyBetween(
    ref,
    { kind: 'store', name: ref.replace(/^docker:\/\//, ''), input: ref },
    { referrers: true, ...(opts.platform && { platform: opts.platform }) },
    client,
  );
  notes(`pulled ${ref}: ${pulled.digest}`);
  return openImage(`store:${ref.replace(/^docker:\/\//, '')}`);
}

async function runFrom(
  subject: Image | ImageIndex,
  ref: string,
  args: string[],
  opts: RunOptions,
  volumes: Volume[],
  notes: (line: string) => void,
) {
  const { image, platform } = await pickImage(subject, opts.platform, ref);
  const config = (await image.configFile()).config ?? {};
  const argv = commandLine(config, args, opts.entrypoint);
  if (argv.length === 0)
    throw new UsageError(
      `${ref} (${formatPlatform(platform)}) has no Entrypoint or Cmd`,
      'give a command after the image',
    );
  const env = programEnv(config, opts.env);
  const workdir = posix.normalize(`/${opts.workdir ?? (config.WorkingDir || '/')}`);
  let spec: ReturnType<typeof findPlatform> | undefined;
  try {
    spec = findPlatform(formatPlatform(platform));
  } catch {
    spec = undefined;
  }
  if (!spec) throw new UsageError(`cannot run ${formatPlatform(platform)}: no qemu-user mapping for it`);
  const runner = qemuFor(spec, { pinCpu: opts.pinCpu === true, forceEmulation: opts.emulate === true });
  if (runner.kind === 'qemu' && !runner.command) throw new QemuMissingError(spec);
  const bwrap = opts.sandbox ? findBwrap() : undefined;
  if (opts.sandbox && !bwrap) throw new BwrapMissingError();
  if (!opts.sandbox)
    notes(
      'warning: --no-sandbox: the program runs on this host, unconfined (it sees and can change your files)',
    );

  const parent = opts.rootfs ?? (await privateDir());
  const root = opts.rootfs ?? join(parent, 'rootfs');
  const status = await withPrivateDir(parent, opts.rootfs !== undefined, async () => {
    const report = await extractRootfs(image, root);
    const skipped = report.warnings.filter((w) => !/ dev\//.test(w));
    if (skipped.length)
      notes(`note: ${skipped.length} device node(s)/fifo(s) not reproduced, e.g. ${skipped[0]}`);
    if (!opts.rootfs) await chmod(root, 0o755);
    const user = await resolveUser(root, opts.user ?? config.User);
    const found = await locate(root, argv[0]!, workdir, env.PATH ?? DEFAULT_PATH);
    if (found.status !== 'found') throw notFound(argv[0]!, found.status, platform);
    if (!bwrap) return runOnHost({ root, exe: found.path, argv, workdir, env, runner });
    const hostname = opts.hostname ?? randomBytes(6).toString('hex');
    env.HOSTNAME ??= hostname;
    env.HOME ??= user.home ?? '/';
    const tty = opts.tty === true && process.stdin.isTTY === true;
    if (tty) env.TERM ??= 'xterm';
    const sandbox = await prepareContainer({
      rootfs: root,
      uid: user.uid,
      gid: user.gid,
      hostname,
      workdir,
      network: opts.network as 'none' | 'host',
      readOnly: opts.readOnly === true,
      volumes,
      tty,
      argv,
      ...(runner.kind === 'qemu'
        ? { qemu: { binary: runner.command!, prefixArgs: runner.prefixArgs, program: found.path } }
        : {}),
    });
    const code = await runSandboxed(bwrap, sandboxArgs(sandbox), env);
    if (runner.kind === 'qemu' && (code === 126 || code === 127) && !hasBinfmt(runner.qemu))
      notes(
        `note: ${formatPlatform(platform)} runs under qemu-user without binfmt_misc: a program it starts (e.g. through a shell) cannot be executed ("Exec format error"). Run that program directly (scratchpack run IMAGE PROGRAM ARGS), or register qemu-user-static with binfmt_misc (Debian: apt-get install binfmt-support qemu-user-static).`,
      );
    return code;
  });
  if (status !== 0) throw new ExitError(status);
}

export function runCommand(program: Command): void {
  const cmd = runOptions(
    program
      .command('run')
      .description('run an image as a container: its rootfs as /, in its own namespaces, no daemon, no root')
      .argument('<image>', 'a name in the local store (hello) or an OCI layout and tag (dist/oci:latest)')
      .argument(
        '[command...]',
        'the command and its arguments, replacing the image Cmd (everything after the image)',
      ),
  );
  cmd.passThroughOptions().action(async (ref: string, args: string[], opts: RunOptions) => {
    await run(ref, args, opts, (line) => process.stderr.write(`${line}\n`));
  });
}
