/**
 * An image as the container will see it, read before its overlay exists: a stack of unpacked layers (base
 * first) looked up as overlayfs merges them — the topmost layer holding a name decides; a whiteout (a 0/0
 * character device) hides the name below it; a directory merges with the directories below it down to an opaque
 * one (xattr `user.overlay.opaque`). One directory (a private unpacked copy) is a stack of one.
 */
import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type ImageLookup, resolveParts } from '@scratchpack/oci';

/** overlayfs's markers in a user namespace (`userxattr`). */
export const OPAQUE_XATTR = 'user.overlay.opaque';

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** The xattr addon (native): loaded when a layer stack needs it, not by every start of the CLI. */
let addon: Promise<typeof import('@napi-rs/xattr')> | undefined;
export const xattr = () => (addon ??= import('@napi-rs/xattr'));

export async function isOpaque(dir: string): Promise<boolean> {
  const v = await (await xattr()).getAttribute(dir, OPAQUE_XATTR).catch(() => null);
  return v?.toString() === 'y';
}

const lstatOrUndefined = (p: string) => lstat(p).catch(() => undefined);

export class ImageView implements ImageLookup {
  /** `layers`: unpacked layer directories, base first. */
  constructor(readonly layers: readonly string[]) {}

  /** A view of `root`: itself when a view, else the one directory. */
  static of(root: string | ImageView): ImageView {
    return typeof root === 'string' ? new ImageView([root]) : root;
  }

  /** The host path of symlink-free image path `parts` and its lstat, or undefined where the image has nothing. */
  async find(parts: readonly string[]): Promise<{ host: string; st: Stats } | undefined> {
    // The layers the current directory is merged from, topmost first.
    let dirs = [...this.layers].reverse();
    let found: { host: string; st: Stats } | undefined;
    for (let i = 0; i < parts.length; i++) {
      const rel = parts.slice(0, i + 1);
      const next: string[] = [];
      found = undefined;
      for (const layer of dirs) {
        const host = join(layer, ...rel);
        const st = await lstatOrUndefined(host);
        if (!st) continue;
        if (isWhiteout(st)) break;
        if (!st.isDirectory()) {
          if (!found) found = { host, st };
          break;
        }
        found ??= { host, st };
        next.push(layer);
        if (this.layers.length > 1 && (await isOpaque(host))) break;
      }
      if (!found) return undefined;
      if (i < parts.length - 1 && !found.st.isDirectory()) return undefined;
      dirs = next;
    }
    if (parts.length === 0) {
      const host = this.layers.at(-1)!;
      const st = await lstatOrUndefined(host);
      return st ? { host, st } : undefined;
    }
    return found;
  }

  async lstat(parts: readonly string[]): Promise<Stats | undefined> {
    return (await this.find(parts))?.st;
  }

  async readlink(parts: readonly string[]): Promise<string> {
    const hit = await this.find(parts);
    if (!hit) throw Object.assign(new Error(`no ${parts.join('/')} in the image`), { code: 'ENOENT' });
    return readlink(hit.host);
  }

  /** Image path `p` with symlinks resolved inside the image (`/a/b`), the last component followed when `followLast`. */
  async resolve(p: string, followLast = false): Promise<string> {
    return `/${(await resolveParts(this, p, { followLast })).join('/')}`;
  }

  /** The host path where image path `p` (resolved, all symlinks followed) is, or undefined. */
  async host(p: string): Promise<string | undefined> {
    return (await this.find(await resolveParts(this, p, { followLast: true })))?.host;
  }
}

/** Split a resolved image path into its parts. */
export function partsOf(p: string): string[] {
  return p.split('/').filter(Boolean);
}
