/**
 * Refreshing the lock: read each suite's `main/binary-all/Packages.xz` from the mirrors, take the newest
 * version of every package the lock names, and say what changed. Nothing is downloaded but the indexes;
 * the new lock is reviewed as a diff before it is committed.
 */
import { Readable } from 'node:stream';
import { abortable } from '@scratchpack/oci';
import xzDecompress from 'xz-decompress';
import { BaseError } from './errors.ts';
import type { Lock, LockedPackage } from './lock.ts';
import { aptSources, mirrorsFor, mirrorsFromEnv } from './sources.ts';
import { compareDebVersions } from './version.ts';

export interface RefreshOptions {
  mirrors?: string[];
  aptRoot?: string;
  signal?: AbortSignal;
}

/** `Packages` stanzas as field maps (field names as written, continuation lines joined). */
export function parsePackages(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  for (const stanza of text.split(/\n\n+/)) {
    const f = new Map<string, string>();
    let key = '';
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line) && key) f.set(key, `${f.get(key)}\n${line.trim()}`);
      else {
        const i = line.indexOf(':');
        if (i > 0) {
          key = line.slice(0, i);
          f.set(key, line.slice(i + 1).trim());
        }
      }
    }
    if (f.has('Package')) out.push(f);
  }
  return out;
}

async function fetchIndex(url: string, signal?: AbortSignal): Promise<string | undefined> {
  const res = await abortable(fetch(url, signal ? { signal } : {}), signal, 'fetching a Packages index');
  if (res.status === 404) return undefined;
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
  const xz = new xzDecompress.XzReadableStream(
    Readable.toWeb(Readable.from(Buffer.from(await res.arrayBuffer()))) as ReadableStream<Uint8Array>,
  );
  return new Response(xz).text();
}

/** The newest version of each of `names` across the lock's suites, as a new lock. */
export async function refreshLock(lock: Lock, o: RefreshOptions = {}): Promise<Lock> {
  const given = o.mirrors?.length ? o.mirrors : mirrorsFromEnv();
  const sources = given.length ? [] : await aptSources(o.aptRoot);
  const names = new Set(lock.packages.map((p) => p.name));
  const best = new Map<string, LockedPackage>();
  for (const suite of lock.suites) {
    let text: string | undefined;
    const problems: string[] = [];
    for (const base of mirrorsFor(suite, sources, given)) {
      const url = `${base}/dists/${suite}/main/binary-all/Packages.xz`;
      try {
        text = await fetchIndex(url, o.signal);
      } catch (e) {
        if (o.signal?.aborted) throw e;
        problems.push((e as Error).message);
      }
      if (text !== undefined) break;
      problems.push(`${url}: not found`);
    }
    if (text === undefined) {
      throw new BaseError('BASE_FETCH_FAILED', `no Packages index for ${suite}: ${problems.join('; ')}`, {
        hint: 'check the apt sources (or --mirror) and the network',
        temporary: true,
      });
    }
    for (const f of parsePackages(text)) {
      const name = f.get('Package')!;
      if (!names.has(name)) continue;
      const cand: LockedPackage = {
        name,
        version: f.get('Version') ?? '',
        architecture: f.get('Architecture') ?? '',
        suite,
        filename: f.get('Filename') ?? '',
        size: Number(f.get('Size')),
        sha256: f.get('SHA256') ?? '',
      };
      const have = best.get(name);
      if (!have || compareDebVersions(cand.version, have.version) > 0) best.set(name, cand);
    }
  }
  const missing = [...names].filter((n) => !best.has(n));
  if (missing.length) {
    throw new BaseError(
      'BASE_PACKAGE_NOT_FOUND',
      `not in the ${lock.suites.join(', ')} indexes: ${missing.join(', ')}`,
      {
        hint: 'check the lock\'s "suites" and the mirror',
      },
    );
  }
  return { ...lock, packages: lock.packages.map((p) => best.get(p.name)!) };
}

/** One line per package whose pin changed (`name old → new`), none when the locks agree. */
export function lockDiff(before: Lock, after: Lock): string[] {
  const old = new Map(before.packages.map((p) => [p.name, p]));
  const out: string[] = [];
  for (const p of after.packages) {
    const o = old.get(p.name);
    if (!o) out.push(`+ ${p.name} ${p.version}`);
    else if (o.version !== p.version || o.sha256 !== p.sha256)
      out.push(`~ ${p.name} ${o.version} → ${p.version} (${p.suite})`);
  }
  for (const p of before.packages)
    if (!after.packages.some((q) => q.name === p.name)) out.push(`- ${p.name}`);
  return out;
}
