/**
 * Turn an unpacked rootfs and docker-run options into a bwrap sandbox spec: the user, the working
 * directory (created as Docker does), mount points that are real directories of the rootfs (an image's
 * symlink never redirects a mount), `-v` binds, and the qemu-user binary for foreign architectures at a
 * path of its own.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, posix, relative, resolve } from 'node:path';
import { resolveInRoot } from '@scratchpack/oci';
import { UsageError } from '../errors.ts';
import type { ContainerSpec, SandboxSpec, Volume } from './bwrap.ts';

/** `-v HOST:CTR[:ro|rw]`, checked before anything is unpacked. */
export async function parseVolume(spec: string): Promise<Volume> {
  const parts = spec.split(':');
  const mode = parts.length === 3 ? parts.pop()! : 'rw';
  const [host, target] = parts;
  if (parts.length !== 2 || !host || !target || (mode !== 'ro' && mode !== 'rw'))
    throw new UsageError(`invalid volume "${spec}"`, 'use -v HOST_PATH:CONTAINER_PATH[:ro]');
  if (!posix.isAbsolute(target))
    throw new UsageError(`invalid volume "${spec}": ${target} is not an absolute path in the container`);
  const abs = resolve(host);
  await stat(abs).catch(() => {
    throw new UsageError(
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

/**
 * With `--network host`, the host's /etc/resolv.conf and /etc/hosts (read-only) over the image's, as Docker
 * does, so names resolve as on the host; only into an image with a real /etc directory.
 */
async function hostNetworkFiles(root: string): Promise<SandboxSpec['roFiles']> {
  const etc = await lstat(resolve(root, 'etc')).catch(() => undefined);
  if (!etc?.isDirectory()) return [];
  const out: SandboxSpec['roFiles'] = [];
  for (const f of ['/etc/resolv.conf', '/etc/hosts']) {
    if (!(await stat(f).catch(() => undefined))?.isFile()) continue;
    const target = await inRoot(root, f);
    const there = await lstat(resolve(root, `.${target}`)).catch(() => undefined);
    const parent = await lstat(resolve(root, `.${target}`, '..')).catch(() => undefined);
    if ((there && !there.isFile()) || !parent?.isDirectory()) continue;
    out.push({ host: f, target });
  }
  return out;
}

/** The container `run` asks for; for a foreign architecture also the qemu-user binary on the host, the options before the program, the program's image path. */
export type ContainerOptions = ContainerSpec & {
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
  const roFiles: SandboxSpec['roFiles'] = [];
  if (o.network === 'host') roFiles.push(...(await hostNetworkFiles(o.rootfs)));
  let argv = o.argv;
  if (o.qemu) {
    // A directory name the image cannot already use: created fresh in the private rootfs.
    let dir: string;
    do dir = `/.scratchpack-qemu-${randomBytes(4).toString('hex')}`;
    while (await lstat(resolve(o.rootfs, `.${dir}`)).catch(() => undefined));
    await mkdir(resolve(o.rootfs, `.${dir}`));
    const target = `${dir}/${basename(o.qemu.binary)}`;
    if (!isAbsolute(o.qemu.binary))
      throw new UsageError(`qemu-user binary ${o.qemu.binary} is not an absolute path`);
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
    tty: o.tty,
    argv,
  };
}
