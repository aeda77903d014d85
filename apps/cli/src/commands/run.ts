/**
 * `scratchpack run`: a container without a daemon or root. One platform's rootfs is unpacked into a
 * private temporary directory and becomes `/` of the program in its own user, mount, PID, IPC, UTS and
 * network namespaces (bubblewrap); foreign architectures run under qemu-user inside the sandbox.
 * Arguments after the image belong to the program, as with `docker run`. `--no-sandbox` (unsafe) runs the
 * program on the host's filesystem instead.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import {
  type ExtractReport,
  extractRootfs,
  formatPlatform,
  type Image,
  type ImageIndex,
  type Lease,
  trackTemp,
  unpackBudget,
  untrackTemp,
} from '@scratchpack/oci';
import {
  BwrapMissingError,
  binfmtRule,
  cachedLayers,
  capabilities,
  checkHostname,
  commandLine,
  DEFAULT_PATH,
  defaultSeccomp,
  findBwrap,
  giveTree,
  hasBinfmt,
  hostIds,
  ImageView,
  layerKeys,
  leaseLayers,
  locate,
  parseVolume,
  prepareContainer,
  privateDir,
  programEnv,
  readEnvFile,
  removeTree,
  resolveUser,
  rootfsCacheDir,
  runOnHost,
  runSandboxed,
  sandboxedBinfmtSupported,
  splitUser,
  sweepPrivateDirs,
  userOverlaySupported,
  type Volume,
} from '@scratchpack/runtime';
import { findPlatform, QemuMissingError, qemuFor } from '@scratchpack/toolchain';
import type { Source } from '@scratchpack/transport';
import type { Command } from 'commander';
import { ExitError, UsageError } from '../errors.ts';
import { openImage, pickImage, resolveImage } from '../image-ref.ts';
import { forwardSignals, runSignal } from '../interrupt.ts';
import { clientOptions } from '../registry-options.ts';
import { notFound, type RunOptions, runOptions } from '../run/options.ts';
import { callerTerminal } from '../run/tty.ts';
import { warn } from '../safe-text.ts';
import { copyBetween } from './copy.ts';

export { commandLine, programEnv };

async function run(ref: string, rawArgs: string[], opts: RunOptions, notes: (line: string) => void) {
  const args = rawArgs[0] === '--' ? rawArgs.slice(1) : rawArgs;
  if (opts.network !== 'none' && opts.network !== 'host')
    throw new UsageError(
      `--network ${opts.network} is not supported`,
      'use --network none (default) or --network host',
    );
  // Flags are checked before anything is pulled or unpacked.
  if (opts.hostname !== undefined) checkHostname(opts.hostname);
  if (opts.user !== undefined) splitUser(opts.user);
  programEnv({}, opts.env);
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
  const fromFiles: string[] = [];
  for (const f of opts.envFile) fromFiles.push(...(await readEnvFile(f)));
  const env = programEnv(config, [...fromFiles, ...opts.env]);
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

  const caps = capabilities(opts.capAdd, opts.capDrop);

  // Directories of runs whose CLI was killed (-9) go first; then this run's own, removed however it ends.
  const rootIds = bwrap ? hostIds() : undefined;
  const base = await tempBase(rootIds, notes);
  await sweepPrivateDirs(base);
  // A --rootfs is checked before anything is made or unpacked.
  if (opts.rootfs && rootIds) await checkReachable(opts.rootfs, rootIds);
  // Volumes too: bwrap would say only "Can't find source path …: Permission denied".
  if (rootIds) for (const v of volumes) await checkReachable(v.host, rootIds, `-v ${v.host}:${v.target}`);
  const parent = trackTemp(await privateDir(base));
  // In a sandbox, the image's cached unpacked layers under an overlay with a private upper directory (only the
  // upper is removed after); else (--rootfs, --no-sandbox, Linux < 5.11) an unpacked copy of the image for this run.
  const overlay = bwrap !== undefined && opts.rootfs === undefined && userOverlaySupported();
  if (bwrap && !opts.rootfs && !overlay)
    notes(
      `note: Linux ${release()} has no overlayfs in user namespaces (5.11+): the image is unpacked for this run alone`,
    );
  const root = opts.rootfs ?? join(parent, overlay ? 'merged' : 'rootfs');
  let status: number;
  let lease: Lease | undefined;
  try {
    let lower: string[] | undefined;
    let report: ExtractReport | undefined;
    if (overlay) {
      const cacheDir = rootfsCacheDir();
      const blocked = rootIds && (await blockingDir(join(cacheDir, 'x'), rootIds));
      if (blocked)
        throw new UsageError(
          `run as root, the container runs as uid ${rootIds.uid}, which cannot reach the layer cache ${cacheDir}: ${blocked} is not searchable by others`,
          `set SCRATCHPACK_ROOTFS_CACHE to a directory it can reach, or make ${blocked} searchable (chmod o+x ${blocked})`,
        );
      // Leased before they are looked for: collection (rmi, gc) leaves them while this container runs.
      lease = await leaseLayers(cacheDir, await layerKeys(image));
      const owner = hostIds();
      const cached = await cachedLayers(image, {
        cacheDir,
        ...(owner ? { owner } : {}),
        ...(opts.maxSize ? { maxBytes: opts.maxSize } : {}),
      });
      ({ layers: lower, report } = cached);
      for (const d of ['upper', 'work', 'merged']) await mkdir(join(parent, d));
    } else
      report = await extractRootfs(image, root, {
        budget: await unpackBudget(opts.rootfs ?? parent, opts.maxSize),
      });
    runSignal().throwIfAborted();
    const skipped = (report?.warnings ?? []).filter((w) => !/ dev\//.test(w));
    if (skipped.length)
      notes(`note: ${skipped.length} device node(s)/fifo(s) not reproduced, e.g. ${skipped[0]}`);
    if (!opts.rootfs) await chmod(root, 0o755);
    const image_ = lower ? new ImageView(lower) : root;
    const user = await resolveUser(image_, opts.user ?? config.User);
    const found = await locate(image_, argv[0]!, workdir, env.PATH ?? DEFAULT_PATH);
    if (found.status !== 'found') throw notFound(argv[0]!, found.status, platform);
    if (!bwrap)
      status = await runOnHost({ root, exe: found.path, argv, workdir, env, runner, forwardSignals });
    else {
      const hostname = opts.hostname ?? randomBytes(6).toString('hex');
      env.HOSTNAME ??= hostname;
      env.HOME ??= user.home ?? '/';
      // A foreign architecture: qemu-user registered in the container's own binfmt_misc (Linux ≥ 6.7), so every
      // exec goes through it; else qemu runs the first program only.
      const rule =
        runner.kind === 'qemu' && sandboxedBinfmtSupported()
          ? binfmtRule(runner.qemu, runner.command)
          : undefined;
      if (rule && runner.prefixArgs[0] === '-cpu') env.QEMU_CPU ??= runner.prefixArgs[1]!;
      const tty = opts.tty === true && process.stdin.isTTY === true;
      if (tty) env.TERM ??= 'xterm';
      const sandbox = await prepareContainer({
        rootfs: root,
        ...(lower ? { lower, upper: join(parent, 'upper') } : {}),
        dir: parent,
        uid: user.uid,
        gid: user.gid,
        hostname,
        workdir,
        network: opts.network as 'none' | 'host',
        readOnly: opts.readOnly === true,
        volumes,
        tty,
        caps,
        argv,
        ...(runner.kind === 'qemu' && !rule
          ? { qemu: { binary: runner.command!, prefixArgs: runner.prefixArgs, program: found.path } }
          : {}),
      });
      const binfmt = rule ? { rule, mountDir: join(parent, 'binfmt') } : undefined;
      if (binfmt) await mkdir(binfmt.mountDir);
      // Invoked as root: the container's users are an unprivileged host user, who must own its files.
      const ids = hostIds();
      if (ids) {
        giveTree(parent, ids);
        if (opts.rootfs) giveTree(root, ids);
      }
      const seccomp = defaultSeccomp();
      if (!seccomp)
        notes(`note: no seccomp filter for ${process.arch} hosts: the container runs without one`);
      const term = tty ? callerTerminal() : undefined;
      try {
        status = await runSandboxed(bwrap, sandbox, {
          env,
          dir: parent,
          forwardSignals,
          ...(seccomp ? { seccomp } : {}),
          ...(term ? { terminal: term.terminal } : {}),
          outer: {
            ...(binfmt ? { binfmt } : {}),
            ...(lower
              ? {
                  overlay: {
                    lower,
                    upper: join(parent, 'upper'),
                    work: join(parent, 'work'),
                    merged: root,
                  },
                }
              : {}),
          },
        });
      } finally {
        term?.restore();
      }
      if (runner.kind === 'qemu' && !rule && (status === 126 || status === 127) && !hasBinfmt(runner.qemu))
        notes(
          `note: ${formatPlatform(platform)} runs under qemu-user without binfmt_misc (${sandboxedBinfmtSupported() ? `no /usr/lib/binfmt.d/${runner.qemu}.conf to register in the container` : `Linux ${release()} is older than 6.7, which registers qemu-user inside the container`}): a program it starts (e.g. through a shell) cannot be executed ("Exec format error"). Run that program directly (scratchpack run IMAGE PROGRAM ARGS), or register qemu-user-static with binfmt_misc (Debian: apt-get install binfmt-support qemu-user-static).`,
        );
    }
  } finally {
    removeTree(parent);
    untrackTemp(parent);
    await lease?.release();
  }
  if (status !== 0) throw new ExitError(status);
}

/**
 * Invoked as root, the container runs as an unprivileged host user: a `--rootfs` directory must be reachable by
 * it, or bwrap fails with a bare "Permission denied". Say which directory blocks the way and what to do.
 */
async function checkReachable(
  dir: string,
  ids: { uid: number; gid: number },
  what = `--rootfs ${dir}`,
): Promise<void> {
  const blocked = await blockingDir(dir, ids);
  if (blocked)
    throw new UsageError(
      `${what}: run as root, the container runs as uid ${ids.uid}, which cannot reach it: ${blocked} is not searchable by others`,
      `pick a directory it can reach (e.g. under /tmp), or make ${blocked} searchable (chmod o+x ${blocked})`,
    );
}

/** The first directory above `dir` that `ids` cannot search, or undefined when the way is open. */
async function blockingDir(dir: string, ids: { uid: number; gid: number }): Promise<string | undefined> {
  for (let d = dirname(resolve(dir)); ; d = dirname(d)) {
    // Not there yet: made later, searchable (mkdir under the usual umask).
    const st = await stat(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) continue;
    const searchable =
      st.uid === ids.uid ? st.mode & 0o100 : st.gid === ids.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!searchable) return d;
    if (d === dirname(d)) return undefined;
  }
}

/**
 * Where this run's private directory goes: the temp directory, unless (invoked as root) the unprivileged
 * container user cannot reach it — a `TMPDIR` under a 0700 home made the overlay mount fail with a bare
 * "cannot mount overlay read-only" — then `/tmp`, said once.
 */
async function tempBase(ids: { uid: number; gid: number } | undefined, note: (line: string) => void) {
  const base = tmpdir();
  if (!ids) return base;
  const blocked = await blockingDir(join(base, 'x'), ids);
  if (!blocked) return base;
  if (!(await blockingDir('/tmp/x', ids))) {
    note(
      `note: ${blocked} is not searchable by uid ${ids.uid}, the container's user: its directory goes under /tmp`,
    );
    return '/tmp';
  }
  throw new UsageError(
    `run as root, the container runs as uid ${ids.uid}, which cannot reach the temp directory ${base}: ${blocked} is not searchable by others`,
    `set TMPDIR to a directory it can reach, or make ${blocked} searchable (chmod o+x ${blocked})`,
  );
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
    await run(ref, args, opts, (line) => warn(`${line}\n`));
  });
}
