/**
 * `login` / `logout`: credentials in Docker's `config.json` (`$DOCKER_CONFIG/config.json`, default
 * `~/.docker/config.json`), `auths[<key>].auth` = base64 `user:password` — the file docker, podman, skopeo and
 * crane read too. Every other field of the file is kept; the file is replaced by temp + rename, mode 0600.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeThroughTemp } from '@scratchpack/oci';
import { type ClientOptions, dockerConfigKey, RegistryClient, RegistryError } from '@scratchpack/registry';
import { TransportError } from './errors.ts';

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

type DockerConfig = { auths?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

async function readConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
    return doc as DockerConfig;
  } catch (err) {
    throw new TransportError(
      'TRANSPORT_LOGIN_FAILED',
      `${path} is not a Docker config file: ${(err as Error).message}`,
      {
        hint: 'fix or move the file, then log in again',
      },
    );
  }
}

async function writeConfig(path: string, doc: DockerConfig): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const text = `${JSON.stringify(doc, null, '\t')}\n`;
  await writeThroughTemp(path, (tmp) => writeFile(tmp, text, { flag: 'wx', mode: 0o600 }));
}

/**
 * Check `username`/`password` against `registry` (GET /v2/ with them, as docker login does), then store them.
 * A refused password, an unreachable registry and a registry without authentication are told apart.
 */
export async function login(
  registry: string,
  username: string,
  password: string,
  options: ClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ configPath: string; key: string }> {
  if (!username)
    throw new TransportError('TRANSPORT_LOGIN_FAILED', 'no username', { hint: 'pass --username NAME' });
  if (!password)
    throw new TransportError('TRANSPORT_LOGIN_FAILED', `no password for ${username}`, {
      hint: 'pass it on standard input: --password-stdin',
    });
  const client = new RegistryClient(registry, { username, password, source: 'login' }, options);
  try {
    const res = await client.request({
      method: 'GET',
      url: client.transport.url('/v2/'),
      expect: [200],
      scopes: [],
    });
    await res.body?.cancel();
  } catch (err) {
    if (err instanceof RegistryError && (err.status === 401 || err.status === 403))
      throw new TransportError('TRANSPORT_LOGIN_FAILED', `${registry} refused the password of ${username}`, {
        hint: 'check the username and password; nothing was saved',
        cause: err,
      });
    throw err;
  } finally {
    await client.close();
  }
  const path = dockerConfigPath(env);
  const doc = await readConfig(path);
  const key = dockerConfigKey(registry);
  doc.auths = {
    ...(doc.auths ?? {}),
    [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') },
  };
  await writeConfig(path, doc);
  return { configPath: path, key };
}

/** Remove the stored credentials of `registry`; false when there were none. */
export async function logout(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const path = dockerConfigPath(env);
  const doc = await readConfig(path);
  const key = dockerConfigKey(registry);
  if (!doc.auths || !(key in doc.auths)) return false;
  const { [key]: _gone, ...rest } = doc.auths;
  doc.auths = rest;
  await writeConfig(path, doc);
  return true;
}
