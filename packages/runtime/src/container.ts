/**
 * Turn an unpacked rootfs and docker-run options into a bwrap sandbox spec: the user, the working
 * directory (created as Docker does), mount points that are real directories of the rootfs (an image's
 * symlink never redirects a mount), `-v` binds, and the qemu-user binary for foreign architectures at a
 * path of its own.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { chmod, lstat, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, posix, resolve } from 'node:path';
import type { ContainerSpec, SandboxSpec, Volume } from './bwrap.ts';
import { RuntimeInputError } from './errors.ts';
import { MASKED_PATHS, type ProcPath, READONLY_PATHS } from './hardening.ts';
import { ImageView, partsOf } from './image-view.ts';

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
  const norm = posix.normalize(target);
  // The kernel's filesystems are the runtime's (masked and read-only paths; runc refuses binds there too).
  const reserved = ['/', '/proc', '/sys', '/dev'].find(
    (r) => norm === r || (r !== '/' && norm.startsWith(`${r}/`)),
  );
  if (reserved)
    throw new RuntimeInputError(
      `invalid volume "${spec}": ${norm} is ${reserved === '/' ? 'the container root' : `under ${reserved}, which the runtime mounts itself`}`,
      'bind to another directory of the container (e.g. /data)',
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

/** Linux's HOST_NAME_MAX; docker refuses a longer --hostname too ("exceeds the maximum length of 64"). */
export const HOSTNAME_MAX = 64;

/** A `--hostname`, checked before anything is unpacked: 1–64 letters, digits, `-`, `.` and `_`. */
export function checkHostname(name: string): void {
  if (name.length > HOSTNAME_MAX)
    throw new RuntimeInputError(
      `invalid hostname "${name.slice(0, 20)}…": ${name.length} characters, the limit is ${HOSTNAME_MAX}`,
      `give --hostname at most ${HOSTNAME_MAX} characters`,
    );
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name))
    throw new RuntimeInputError(
      `invalid hostname "${name}": use letters, digits, '-', '.' and '_' only`,
      'e.g. --hostname web-1',
    );
}

/**
 * The rootfs as the runtime prepares it: read where the image is (`read`), written where the container's changes
 * go (`write`): the same directory for a private unpacked copy, the overlay's upper directory over a cached one.
 */
interface Root {
  read: ImageView;
  write: string;
  /** The image is read where it is written (a private copy). */
  same: boolean;
}

/**
 * Make directory `rel` (symlink-free, inside the root) exist for the container. In an upper directory, the parents
 * the image has are made with the image's modes, since an upper directory's attributes are what the overlay shows.
 */
async function ensureDir(r: Root, rel: string): Promise<void> {
  if (r.same) {
    await mkdir(resolve(r.write, `.${rel}`), { recursive: true });
    return;
  }
  let at = '';
  for (const part of rel.split('/').filter(Boolean)) {
    at += `/${part}`;
    const up = resolve(r.write, `.${at}`);
    if (await lstat(up).catch(() => undefined)) continue;
    const low = await r.read.lstat(partsOf(at));
    await mkdir(up);
    await chmod(up, low?.isDirectory() ? low.mode & 0o7777 : 0o755);
  }
}

/** `p` (an image path) as a real path inside the rootfs, symlinks resolved inside it; a missing directory made when `mkdirs`. */
async function inRoot(r: Root, p: string, mkdirs = false): Promise<string> {
  const rel = await r.read.resolve(posix.normalize(`/${p}`), true);
  if (mkdirs && !(await r.read.lstat(partsOf(rel)))) await ensureDir(r, rel);
  return rel;
}

/** A directory the sandbox mounts over: make sure it is a real directory (not a file or a link). */
async function mountpoint(r: Root, name: string): Promise<void> {
  const st = await r.read.lstat([name]);
  if (st?.isDirectory()) return;
  // Over a cached image, a directory in the upper directory hides what the image has there.
  if (st && r.same) await rm(resolve(r.write, name), { recursive: true, force: true });
  await mkdir(resolve(r.write, name));
}

/** A regular file the container sees at `f` (inside its rootfs), or undefined where the image has something else there. */
async function fileTarget(r: Root, f: string): Promise<string | undefined> {
  const target = await inRoot(r, f);
  const there = await r.read.lstat(partsOf(target));
  const parent = await r.read.lstat(partsOf(posix.dirname(target)));
  if ((there && !there.isFile()) || !parent?.isDirectory()) return undefined;
  if (!there) {
    await ensureDir(r, posix.dirname(target));
    await writeFile(resolve(r.write, `.${target}`), '');
  }
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
async function etcFiles(root: Root, dir: string, hostname: string, network: 'none' | 'host') {
  const roFiles: SandboxSpec['roFiles'] = [];
  const files: SandboxSpec['files'] = [];
  if (!(await root.read.lstat(['etc']))) await ensureDir(root, '/etc');
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
  /**
   * Over cached layers: `rootfs` is where the overlay will be mounted, `lower` the cached layers' directories,
   * base first (read, never written) and `upper` the container's own directory (written). Without them `rootfs`
   * is a private copy.
   */
  lower?: readonly string[];
  upper?: string;
  qemu?: { binary: string; prefixArgs: string[]; program: string };
};

export async function prepareContainer(o: ContainerOptions): Promise<SandboxSpec> {
  const r: Root = {
    read: new ImageView(o.lower ?? [o.rootfs]),
    write: o.upper ?? o.rootfs,
    same: o.upper === undefined,
  };
  await mountpoint(r, 'proc');
  await mountpoint(r, 'dev');
  const tmp = await r.read.lstat(['tmp']);
  const tmpfsTmp = !tmp?.isDirectory();
  if (tmpfsTmp) await mountpoint(r, 'tmp');
  const workdir = await inRoot(r, o.workdir, true);
  const volumes: Volume[] = [];
  for (const v of o.volumes) {
    const isDir = (await stat(v.host)).isDirectory();
    const target = await inRoot(r, v.target);
    const st = await r.read.lstat(partsOf(target));
    if (!st) await ensureDir(r, isDir ? target : posix.dirname(target));
    volumes.push({ ...v, target });
  }
  const { roFiles, files } = await etcFiles(r, o.dir, o.hostname, o.network);
  let argv = o.argv;
  if (o.qemu) {
    // A directory name the image cannot already use: created fresh in the private rootfs.
    let dir: string;
    do dir = `/.scratchpack-qemu-${randomBytes(4).toString('hex')}`;
    while (await r.read.lstat(partsOf(dir)));
    await ensureDir(r, dir);
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
