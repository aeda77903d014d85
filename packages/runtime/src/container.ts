/**
 * Turn an unpacked rootfs and docker-run options into a bwrap sandbox spec: the user, the working
 * directory (created as Docker does), mount points that are real directories of the rootfs (an image's
 * symlink never redirects a mount), `-v` binds, and the qemu-user binary for foreign architectures at a
 * path of its own.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { lstat, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, posix, relative, resolve } from 'node:path';
import { resolveInRoot } from '@scratchpack/oci';
import type { ContainerSpec, SandboxSpec, Volume } from './bwrap.ts';
import { RuntimeInputError } from './errors.ts';
import { MASKED_PATHS, type ProcPath, READONLY_PATHS } from './hardening.ts';

/** `-v HOST:CTR[:ro|rw]`, checked before anything is unpacked. */
export async function parseVolume(spec: string): Promise<Volume> {
  const parts = spec.split(':');
  const mode = parts.length === 3 ? parts.pop()! : 'rw';
  const [host, target] = parts;
  if (parts.length !== 2 || !host || !target || (mode !== 'ro' && mode !== 'rw'))
    throw new RuntimeInputError(`invalid volume "${spec}"`, 'use -v HOST_PATH:CONTAINER_PATH[:ro]');
  if (!posix.isAbsolute(target))
    throw new RuntimeInputError(
      `invalid volume "${spec}": ${target} is not an absolute path in the container`,
    );
  const abs = resolve(host);
  await stat(abs).catch(() => {
    throw new RuntimeInputError(
      `invalid volume "${spec}": ${abs} does not exist`,
      'bind an existing file or directory',
    );
  });
  return { host: abs, target, readOnly: mode === 'ro' };
}

/** `p` (an image path) as a real path inside the rootfs, symlinks resolved inside it; a missing directory made when `mkdirs`. */
async function inRoot(root: string, p: string, mkdirs = false): Promise<string> {
  const host = await resolveInRoot(root, posix.normalize(`/${p}`), { followLast: true });
  if (mkdirs && !(await lstat(host).catch(() => undefined))) await mkdir(host, { recursive: true });
  return `/${relative(root, host)}`;
}

/** A directory the sandbox mounts over: make sure it is a real directory (not a file or a link). */
async function mountpoint(root: string, name: string): Promise<void> {
  const p = resolve(root, name);
  const st = await lstat(p).catch(() => undefined);
  if (st?.isDirectory()) return;
  if (st) await rm(p, { recursive: true, force: true });
  await mkdir(p);
}

/** A regular file the container sees at `f` (inside its rootfs), or undefined where the image has something else there. */
async function fileTarget(root: string, f: string): Promise<string | undefined> {
  const target = await inRoot(root, f);
  const there = await lstat(resolve(root, `.${target}`)).catch(() => undefined);
  const parent = await lstat(resolve(root, `.${target}`, '..')).catch(() => undefined);
  if ((there && !there.isFile()) || !parent?.isDirectory()) return undefined;
  if (!there) await writeFile(resolve(root, `.${target}`), '');
  return target;
}

/** Docker's /etc/hosts for a container of its own network: localhost and the hostname. */
export function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`;
}

/**
 * /etc/hostname always, and /etc/hosts (localhost + the hostname) unless `--network host`, where the host's
 * /etc/resolv.conf and /etc/hosts are bound read-only over the image's, as Docker does. Written into `dir`
 * (outside the rootfs) and bound; an image without /etc gets one.
 */
async function etcFiles(root: string, dir: string, hostname: string, network: 'none' | 'host') {
  const roFiles: SandboxSpec['roFiles'] = [];
  const files: SandboxSpec['files'] = [];
  if (!(await lstat(resolve(root, 'etc')).catch(() => undefined))) await mkdir(resolve(root, 'etc'));
  const own: [string, string][] = [['/etc/hostname', `${hostname}\n`]];
  if (network === 'host') {
    for (const f of ['/etc/resolv.conf', '/etc/hosts']) {
      if (!(await stat(f).catch(() => undefined))?.isFile()) continue;
      const target = await fileTarget(root, f);
      if (target) roFiles.push({ host: f, target });
    }
  } else own.push(['/etc/hosts', hostsFile(hostname)]);
  for (const [f, text] of own) {
    const target = await fileTarget(root, f);
    if (!target) continue;
    const host = join(dir, basename(f));
    await writeFile(host, text, { mode: 0o644 });
    files.push({ host, target });
  }
  return { roFiles, files };
}

/** The /proc paths of `paths` this kernel has (bwrap cannot mount over one that is missing). */
function existing(paths: readonly string[]): ProcPath[] {
  const out: ProcPath[] = [];
  for (const path of paths) {
    try {
      out.push({ path, dir: lstatSync(path).isDirectory() });
    } catch {
      // not on this kernel
    }
  }
  return out;
}

/**
 * The container `prepareContainer` is asked for: `dir` is a private directory outside the rootfs for the files
 * the runtime writes; for a foreign architecture also the qemu-user binary on the host, the options before the
 * program, the program's image path.
 */
export type ContainerOptions = ContainerSpec & {
  dir: string;
  qemu?: { binary: string; prefixArgs: string[]; program: string };
};

export async function prepareContainer(o: ContainerOptions): Promise<SandboxSpec> {
  await mountpoint(o.rootfs, 'proc');
  await mountpoint(o.rootfs, 'dev');
  const tmp = await lstat(resolve(o.rootfs, 'tmp')).catch(() => undefined);
  const tmpfsTmp = !tmp?.isDirectory();
  if (tmpfsTmp) await mountpoint(o.rootfs, 'tmp');
  const workdir = await inRoot(o.rootfs, o.workdir, true);
  const volumes: Volume[] = [];
  for (const v of o.volumes) {
    const isDir = (await stat(v.host)).isDirectory();
    const target = await inRoot(o.rootfs, v.target);
    const host = resolve(o.rootfs, `.${target}`);
    const st = await lstat(host).catch(() => undefined);
    if (!st) {
      if (isDir) await mkdir(host, { recursive: true });
      else await mkdir(resolve(host, '..'), { recursive: true });
    }
    volumes.push({ ...v, target });
  }
  const { roFiles, files } = await etcFiles(o.rootfs, o.dir, o.hostname, o.network);
  let argv = o.argv;
  if (o.qemu) {
    // A directory name the image cannot already use: created fresh in the private rootfs.
    let dir: string;
    do dir = `/.scratchpack-qemu-${randomBytes(4).toString('hex')}`;
    while (await lstat(resolve(o.rootfs, `.${dir}`)).catch(() => undefined));
    await mkdir(resolve(o.rootfs, `.${dir}`));
    const target = `${dir}/${basename(o.qemu.binary)}`;
    if (!isAbsolute(o.qemu.binary))
      throw new RuntimeInputError(`qemu-user binary ${o.qemu.binary} is not an absolute path`);
    roFiles.push({ host: o.qemu.binary, target });
    argv = [target, ...o.qemu.prefixArgs, '-0', o.argv[0]!, o.qemu.program, ...o.argv.slice(1)];
  }
  return {
    rootfs: o.rootfs,
    uid: o.uid,
    gid: o.gid,
    hostname: o.hostname,
    workdir,
    network: o.network,
    readOnly: o.readOnly,
    tmpfsTmp,
    volumes,
    roFiles,
    files,
    masked: existing(MASKED_PATHS),
    readOnlyProc: existing(READONLY_PATHS),
    tty: o.tty,
    caps: o.caps,
    argv,
  };
}
