/**
 * The build context: matching COPY/ADD sources (literal paths and `*`, `?`, `[…]` globs, as Go's
 * filepath.Match per path component), `.dockerignore`, and turning a source into layer entries.
 * Nothing outside the context is ever read: `..` escapes and symlinks leading outside are refused.
 */
import { createReadStream, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isGzipMagic, type LayerEntry, ScratchpackError } from '@scratchpack/oci';
import { IgnorePatternError, IgnoreRules } from './ignore.ts';

/** A problem with a source; the evaluator adds the position. */
export class SourceError extends ScratchpackError {
  declare readonly code:
    | 'DOCKERFILE_CONTEXT_ESCAPE'
    | 'DOCKERFILE_SOURCE_NOT_FOUND'
    | 'DOCKERFILE_SYMLINK_LOOP'
    | 'DOCKERFILE_UNSUPPORTED'
    | 'DOCKERFILE_IGNORE_PATTERN';
  constructor(code: SourceError['code'], message: string, hint?: string) {
    super(code, message, { hint });
  }
}

export interface CopyOwnership {
  mode?: number;
  uid?: number;
  gid?: number;
}

const GLOB = /[*?[]/;

/** A Go filepath.Match-style pattern for one path component, as a RegExp. */
function componentRegex(p: string): RegExp {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0)
        throw new SourceError('DOCKERFILE_SOURCE_NOT_FOUND', `bad pattern ${JSON.stringify(p)}: unclosed [`);
      let cls = p.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < p.length) re += `\\${p[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Clean a source path relative to the context root; refuses `..` that leaves the root. */
export function cleanSource(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) {
        throw new SourceError(
          'DOCKERFILE_CONTEXT_ESCAPE',
          `${JSON.stringify(p)} is outside the build context`,
          'copy only files inside the context directory; move the file in or choose a wider context',
        );
      }
      out.pop();
    } else out.push(seg);
  }
  return out.join('/');
}

export class BuildContext {
  private constructor(
    readonly root: string,
    private readonly ignore: IgnoreRules,
  ) {}

  /** Open the context directory (resolving symlinks) and read its `.dockerignore`. */
  static async open(dir: string): Promise<BuildContext> {
    const root = await realpath(dir);
    if (!(await stat(root)).isDirectory())
      throw new SourceError('DOCKERFILE_SOURCE_NOT_FOUND', `build context ${dir} is not a directory`);
    const file = join(root, '.dockerignore');
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw new SourceError('DOCKERFILE_SOURCE_NOT_FOUND', `cannot read ${file}: ${e.message}`);
    });
    let ignore: IgnoreRules;
    try {
      ignore = IgnoreRules.parse(text, file);
    } catch (e) {
      if (!(e instanceof IgnorePatternError)) throw e;
      throw new SourceError(
        'DOCKERFILE_IGNORE_PATTERN',
        e.message,
        'fix the line: patterns use *, ?, [a-z], \\ escapes and ** (any directories); ! before a pattern makes an exception',
      );
    }
    return new BuildContext(root, ignore);
  }

  /** True when `.dockerignore` excludes `rel` (or one of its parent directories). */
  isIgnored(rel: string): boolean {
    return this.ignore.isIgnored(rel);
  }

  /** Excluded, and not a directory an exception could still take something from. */
  private async skipped(rel: string): Promise<boolean> {
    if (!this.ignore.isIgnored(rel)) return false;
    if (!this.ignore.mayIncludeBelow(rel)) return true;
    return !(await lstat(join(this.root, rel)).then(
      (l) => l.isDirectory(),
      () => false,
    ));
  }

  /** The real path of `rel`, which must stay inside the context. */
  private async inside(rel: string, original: string): Promise<string> {
    const abs = join(this.root, rel);
    let real: string;
    try {
      real = await realpath(abs);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ELOOP')
        throw new SourceError(
          'DOCKERFILE_SYMLINK_LOOP',
          `${JSON.stringify(original)} in the build context ${this.root} is a symlink loop (too many levels of symbolic links)`,
          'point the symlink at a real file or directory, or copy the file itself',
        );
      throw new SourceError(
        'DOCKERFILE_SOURCE_NOT_FOUND',
        `${JSON.stringify(original)} not found in the build context ${this.root}`,
      );
    }
    if (real !== this.root && !real.startsWith(this.root + sep)) {
      throw new SourceError(
        'DOCKERFILE_CONTEXT_ESCAPE',
        `${JSON.stringify(original)} resolves to ${real}, outside the build context (through a symlink)`,
        'replace the symlink with the file itself',
      );
    }
    return real;
  }

  /** Context-relative paths matching `pattern` (sorted); throws `SourceError` when nothing matches. */
  async match(pattern: string): Promise<{ rel: string; real: string }[]> {
    const clean = cleanSource(pattern);
    const segs = clean ? clean.split('/') : [];
    if (!segs.some((s) => GLOB.test(s))) {
      if (clean && (await this.skipped(clean)))
        throw new SourceError(
          'DOCKERFILE_SOURCE_NOT_FOUND',
          `${JSON.stringify(pattern)} is excluded by .dockerignore`,
        );
      return [{ rel: clean, real: await this.inside(clean, pattern) }];
    }
    let current = [''];
    for (const seg of segs) {
      const next: string[] = [];
      const re = GLOB.test(seg) ? componentRegex(seg) : undefined;
      for (const dir of current) {
        if (!re) {
          next.push(dir ? `${dir}/${seg}` : seg);
          continue;
        }
        const real = await this.inside(dir, pattern).catch(() => undefined);
        if (!real || !(await stat(real)).isDirectory()) continue;
        for (const name of (await readdir(real)).sort())
          if (re.test(name)) next.push(dir ? `${dir}/${name}` : name);
      }
      current = next;
    }
    const out: { rel: string; real: string }[] = [];
    for (const rel of current) {
      if (await this.skipped(rel)) continue;
      const exists = await lstat(join(this.root, rel)).then(
        () => true,
        () => false,
      );
      if (exists) out.push({ rel, real: await this.inside(rel, rel) });
    }
    if (out.length === 0)
      throw new SourceError(
        'DOCKERFILE_SOURCE_NOT_FOUND',
        `no source files match ${JSON.stringify(pattern)} in the build context`,
      );
    return out;
  }

  /**
   * Layer entries for one matched source at image path `dest`. A directory contributes its contents
   * (dest is the directory); symlinks inside directories are kept as symlinks.
   */
  async entries(
    src: { rel: string; real: string },
    dest: string,
    own: CopyOwnership,
    warnings: string[],
  ): Promise<LayerEntry[]> {
    const ids = {
      ...(own.uid !== undefined ? { uid: own.uid } : {}),
      ...(own.gid !== undefined ? { gid: own.gid } : {}),
    };
    const st = await stat(src.real);
    if (st.isFile())
      return [{ type: 'file', path: dest, source: src.real, mode: own.mode ?? st.mode & 0o7777, ...ids }];
    if (!st.isDirectory())
      throw new SourceError(
        'DOCKERFILE_UNSUPPORTED',
        `${JSON.stringify(src.rel)} is not a regular file or directory`,
      );
    const out: LayerEntry[] = [];
    if (dest !== '' && dest !== '/')
      out.push({ type: 'dir', path: dest, mode: own.mode ?? st.mode & 0o7777, ...ids });
    // An excluded directory is walked only for an exception below it, and kept only if one matched.
    // Synchronous calls: for a tree of many small files, one trip through libuv's thread pool per lstat (queued
    // behind zlib's work there) costs far more than the cached metadata it reads.
    // Every entry goes straight into `out`: no array per directory spread into its parent's (a spread passes each
    // entry as an argument, and past ~125,000 of them V8 throws "Maximum call stack size exceeded").
    const walk = (relDir: string, absDir: string, destDir: string): void => {
      const under = destDir.replace(/\/$/, '');
      for (const name of readdirSync(absDir).sort()) {
        const rel = relDir ? `${relDir}/${name}` : name;
        const ignored = this.isIgnored(rel);
        if (ignored && !this.ignore.mayIncludeBelow(rel)) continue;
        // absDir is a clean absolute path and name one component: no join (normalising) per file
        const abs = absDir === '/' ? `/${name}` : `${absDir}/${name}`;
        const d = `${under}/${name}`;
        const l = lstatSync(abs);
        if (l.isDirectory()) {
          const at = out.length;
          out.push({ type: 'dir', path: d, mode: own.mode ?? l.mode & 0o7777, ...ids });
          walk(rel, abs, d);
          if (ignored && out.length === at + 1) out.pop();
        } else if (ignored) continue;
        else if (l.isSymbolicLink())
          out.push({ type: 'symlink', path: d, target: readlinkSync(abs), ...ids });
        else if (l.isFile())
          out.push({
            type: 'file',
            path: d,
            source: abs,
            listedSize: l.size,
            mode: own.mode ?? l.mode & 0o7777,
            ...ids,
          });
        else
          warnings.push(
            `skipped ${rel}: ${specialKind(l)}; COPY takes regular files, directories and symlinks`,
          );
      }
    };
    walk(src.rel, src.real, dest);
    return out;
  }
}

/** A special file's kind, for the warning that skips it. */
function specialKind(l: Stats): string {
  if (l.isFIFO()) return 'a FIFO (named pipe)';
  if (l.isSocket()) return 'a socket';
  if (l.isBlockDevice() || l.isCharacterDevice()) return 'a device node';
  return 'not a regular file, directory or symlink';
}

/** What ADD should do with a local file: extract a tar (plain or gzip), or copy it. */
export async function archiveKind(path: string): Promise<'tar' | 'tar.gz' | 'other' | 'unsupported-archive'> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    const isTar = (x: Buffer) => x.length >= 262 && x.subarray(257, 262).toString('latin1') === 'ustar';
    if (isTar(b)) return 'tar';
    if (isGzipMagic(b)) {
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of createReadStream(path, { end: 64 * 1024 })) {
        chunks.push(c as Buffer);
        n += (c as Buffer).length;
        if (n >= 64 * 1024) break;
      }
      try {
        const inflated = gunzipSync(Buffer.concat(chunks), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
        return isTar(inflated) ? 'tar.gz' : 'other';
      } catch {
        return 'other';
      }
    }
    if (
      b.subarray(0, 3).toString('latin1') === 'BZh' ||
      b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))
    ) {
      return 'unsupported-archive';
    }
    return 'other';
  } finally {
    await fh.close();
  }
}
