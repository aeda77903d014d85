/** What Docker derives from an image config and `run` flags: the command line, the environment, the user. */
import { readFile } from 'node:fs/promises';
import type { ContainerConfig } from '@scratchpack/oci';
import { RuntimeInputError } from './errors.ts';
import { ImageView } from './image-view.ts';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Entrypoint + Cmd as Docker combines them; `args` (after the image) replace Cmd. */
export function commandLine(config: ContainerConfig, args: string[], entrypoint?: string): string[] {
  const ep = entrypoint !== undefined ? (entrypoint === '' ? [] : [entrypoint]) : (config.Entrypoint ?? []);
  const cmd = args.length > 0 || entrypoint !== undefined ? args : (config.Cmd ?? []);
  return [...ep, ...cmd];
}

/** The environment the program sees: the image's Env (PATH defaulted as Docker does), then `-e` overrides. */
export function programEnv(config: ContainerConfig, overrides: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of [...(config.Env ?? []), ...overrides]) {
    const i = kv.indexOf('=');
    // docker: `-e =x` is "invalid environment variable: =x" (a variable needs a name).
    if (i === 0 || kv === '')
      throw new RuntimeInputError(
        `invalid environment variable "${kv}": the name before = is empty`,
        overrides.includes(kv) ? 'use -e NAME=VALUE (or -e NAME to copy it from here)' : undefined,
      );
    if (i < 0) {
      if (overrides.includes(kv)) {
        const v = process.env[kv];
        if (v !== undefined) env[kv] = v;
        continue;
      }
      throw new RuntimeInputError(`invalid environment entry "${kv}": expected KEY=VALUE`);
    }
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  env.PATH ??= DEFAULT_PATH;
  return env;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The home directory from the image's /etc/passwd, when the user is listed there. */
  home: string | undefined;
}

/** Lines of an /etc/passwd-style file of the image (resolved inside the rootfs), split on `:`. */
async function table(root: ImageView, file: string): Promise<string[][]> {
  try {
    const host = await root.host(file);
    if (!host) return [];
    const text = await readFile(host, 'utf8');
    return text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

const NUMERIC = /^\d+$/;

/** `user[:group]` split, refused when it has more parts or no user (checked before anything is unpacked). */
export function splitUser(spec: string): [string, string | undefined] {
  const parts = spec.split(':');
  if (parts.length > 2 || !parts[0])
    throw new RuntimeInputError(
      `invalid user "${spec}": expected user[:group]`,
      'use -u uid[:gid] or -u name[:group] (one colon at most)',
    );
  return [parts[0], parts[1]];
}

/**
 * Docker's `User` / `-u`: `uid`, `uid:gid`, `name`, `name:group` (names looked up in the image's
 * /etc/passwd and /etc/group). Empty means root. A name the image does not list is an error.
 */
export async function resolveUser(
  image: string | ImageView,
  spec: string | undefined,
): Promise<ResolvedUser> {
  const root = ImageView.of(image);
  const [userPart, groupPart] = splitUser(spec || '0');
  const passwd = await table(root, 'etc/passwd');
  const row = passwd.find((r) => (NUMERIC.test(userPart) ? r[2] === userPart : r[0] === userPart));
  let uid: number;
  if (NUMERIC.test(userPart)) uid = Number(userPart);
  else if (row && NUMERIC.test(row[2] ?? '')) uid = Number(row[2]);
  else
    throw new RuntimeInputError(
      `unable to find user ${userPart}: no matching entry in the image's /etc/passwd`,
      'use a numeric uid[:gid] or a user the image defines',
    );
  let gid: number;
  if (groupPart === undefined || groupPart === '')
    gid = row && NUMERIC.test(row[3] ?? '') ? Number(row[3]) : 0;
  else if (NUMERIC.test(groupPart)) gid = Number(groupPart);
  else {
    const g = (await table(root, 'etc/group')).find((r) => r[0] === groupPart);
    if (!g || !NUMERIC.test(g[2] ?? ''))
      throw new RuntimeInputError(
        `unable to find group ${groupPart}: no matching entry in the image's /etc/group`,
        'use a numeric gid or a group the image defines',
      );
    gid = Number(g[2]);
  }
  if (uid > 0xfffffffe || gid > 0xfffffffe)
    throw new RuntimeInputError(`invalid user "${spec}": id out of range`);
  return { uid, gid, home: row?.[5] || undefined };
}
