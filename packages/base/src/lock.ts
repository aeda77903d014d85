/**
 * The lock: the exact Debian packages a base image is made of (like distroless's snapshot pins). Same lock →
 * the same bytes on any machine and any day; `refresh.ts` makes a new one from a mirror's Packages indexes.
 */
import { readFile } from 'node:fs/promises';
import defaultLockJson from './debian.lock.json' with { type: 'json' };
import { BaseError } from './errors.ts';

export interface LockedPackage {
  name: string;
  version: string;
  architecture: string;
  /** The suite whose index listed it, to pick the apt sources that serve it (e.g. `bookworm-security`). */
  suite: string;
  /** Path below the mirror's base URI, from the Packages index (`pool/main/…/x_1.0_all.deb`). */
  filename: string;
  size: number;
  sha256: string;
}

export interface Lock {
  /** What the packages are, e.g. `Debian 12 (bookworm)`; written to os-release. */
  distribution: { id: string; versionId: string; codename: string };
  /** Suites searched by the refresh, in priority order. */
  suites: string[];
  packages: LockedPackage[];
}

/** The packages of the static base, in the order they are unpacked. */
export const STATIC_PACKAGES = ['ca-certificates', 'media-types', 'netbase', 'tzdata'];

const HEX = /^[0-9a-f]{64}$/;

/** Check a lock's shape; every problem names the field and the file. */
export function parseLock(value: unknown, where: string): Lock {
  const bad = (what: string): never => {
    throw new BaseError('BASE_LOCK_INVALID', `${where}: ${what}`, {
      hint: 'make a fresh lock with `scratchpack base lock --write FILE`',
    });
  };
  const o = value as Partial<Lock> | null;
  if (!o || typeof o !== 'object') return bad('not a JSON object');
  const d = o.distribution;
  if (!d || typeof d.id !== 'string' || typeof d.versionId !== 'string' || typeof d.codename !== 'string')
    bad('"distribution" needs id, versionId and codename');
  if (!Array.isArray(o.suites) || !o.suites.every((s) => typeof s === 'string'))
    bad('"suites" is not a list');
  if (!Array.isArray(o.packages) || o.packages.length === 0) bad('"packages" is empty');
  const seen = new Set<string>();
  for (const [i, p] of (o.packages as LockedPackage[]).entries()) {
    const at = `packages[${i}]${p && typeof p.name === 'string' ? ` (${p.name})` : ''}`;
    for (const k of ['name', 'version', 'architecture', 'suite', 'filename'] as const)
      if (typeof p?.[k] !== 'string' || !p[k]) bad(`${at}: "${k}" is missing`);
    if (!Number.isSafeInteger(p.size) || p.size <= 0) bad(`${at}: "size" is not a positive integer`);
    if (!HEX.test(p.sha256)) bad(`${at}: "sha256" is not 64 lowercase hex digits`);
    if (p.filename.split('/').includes('..') || p.filename.startsWith('/')) bad(`${at}: unsafe "filename"`);
    if (seen.has(p.name)) bad(`${at}: ${p.name} is listed twice`);
    seen.add(p.name);
  }
  return o as Lock;
}

/** The lock committed in this package (`src/debian.lock.json`). */
export const defaultLock: Lock = parseLock(defaultLockJson, '@scratchpack/base debian.lock.json');

/** A lock file given by the user (`--lock FILE`). */
export async function readLock(file: string): Promise<Lock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new BaseError(
      'BASE_LOCK_INVALID',
      `cannot read the lock ${file} (${(e as NodeJS.ErrnoException).code})`,
      {
        hint: 'pass an existing file to --lock, or leave it out for the built-in lock',
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BaseError('BASE_LOCK_INVALID', `${file}: not JSON (${(e as Error).message})`);
  }
  return parseLock(json, file);
}

/** The lock as committed: stable key order, one package per block, newline at the end. */
export function formatLock(lock: Lock): string {
  const packages = [...lock.packages]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map(({ name, version, architecture, suite, filename, size, sha256 }) => ({
      name,
      version,
      architecture,
      suite,
      filename,
      size,
      sha256,
    }));
  return `${JSON.stringify({ distribution: lock.distribution, suites: lock.suites, packages }, null, 2)}\n`;
}
