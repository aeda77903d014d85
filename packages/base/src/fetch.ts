/**
 * Getting a locked `.deb`: from the cache (`$XDG_CACHE_HOME/scratchpack/debs/sha256/<hex>`, checked again on
 * every read), else from the mirrors in order; the bytes are checked against the lock's size and sha256
 * before they are cached (temp file + rename), so the cache never holds a bad package.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { abortable, sha256, throwIfAborted, writeFileAtomic } from '@scratchpack/oci';
import { BaseError } from './errors.ts';
import type { LockedPackage } from './lock.ts';

/** `$XDG_CACHE_HOME/scratchpack/debs` (default `~/.cache/scratchpack/debs`). */
export function debCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'scratchpack', 'debs');
}

export interface FetchOptions {
  /** Base URIs to try in order for a package (see sources.ts); asked only when it is not cached. */
  mirrors: (pkg: LockedPackage) => string[];
  cacheDir: string;
  signal?: AbortSignal | undefined;
  /** Told when a package is downloaded (not when it came from the cache). */
  onFetch?: (pkg: LockedPackage, url: string) => void;
}

const label = (p: LockedPackage) => `${p.name} ${p.version} (${p.architecture})`;

/** Why these bytes are not the locked package, or undefined when they are. */
function mismatch(p: LockedPackage, bytes: Buffer): string | undefined {
  if (bytes.length !== p.size) return `${bytes.length} bytes instead of ${p.size}`;
  const got = sha256(bytes).hex;
  return got === p.sha256 ? undefined : `sha256 ${got} instead of ${p.sha256}`;
}

async function download(url: string, signal: AbortSignal | undefined): Promise<Buffer | 'missing'> {
  const res = await fetch(url, signal ? { signal } : {});
  if (res.status === 404) return 'missing';
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The locked package's bytes, verified. */
export async function fetchDeb(p: LockedPackage, o: FetchOptions): Promise<Buffer> {
  const cached = join(o.cacheDir, 'sha256', p.sha256);
  const hit = await readFile(cached).catch(() => undefined);
  if (hit && !mismatch(p, hit)) return hit;
  // A damaged cache entry is dropped and fetched again.
  if (hit) await rm(cached, { force: true });
  const problems: string[] = [];
  for (const base of o.mirrors(p)) {
    throwIfAborted(o.signal, `fetching ${p.name}`);
    const url = `${base}/${p.filename}`;
    let got: Buffer | 'missing';
    try {
      got = await abortable(download(url, o.signal), o.signal, `fetching ${p.name}`);
    } catch (e) {
      if (o.signal?.aborted) throw e;
      problems.push(
        `${url}: ${(e as Error).cause ? ((e as Error).cause as Error).message : (e as Error).message}`,
      );
      continue;
    }
    if (got === 'missing') {
      problems.push(`${url}: not found`);
      continue;
    }
    const bad = mismatch(p, got);
    if (bad) {
      throw new BaseError('BASE_DEB_MISMATCH', `${label(p)} from ${url} does not match the lock: ${bad}`, {
        hint: 'the mirror serves other bytes under that name: check the mirror, or refresh the lock (`scratchpack base lock`) and review the diff',
      });
    }
    o.onFetch?.(p, url);
    await mkdir(join(o.cacheDir, 'sha256'), { recursive: true });
    await writeFileAtomic(cached, got);
    return got;
  }
  const allMissing = problems.length > 0 && problems.every((x) => x.endsWith('not found'));
  throw new BaseError(
    allMissing ? 'BASE_PACKAGE_NOT_FOUND' : 'BASE_FETCH_FAILED',
    `cannot fetch ${label(p)}: ${problems.join('; ') || 'no mirror to try'}`,
    {
      hint: allMissing
        ? 'the mirror no longer has this version: point --mirror at a snapshot mirror, or refresh the lock (`scratchpack base lock`)'
        : 'check the network and the apt sources (or --mirror); a warm cache builds offline',
      temporary: !allMissing,
    },
  );
}
