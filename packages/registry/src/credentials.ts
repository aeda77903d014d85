import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CredentialsError } from './errors.ts';
import { DOCKER_HUB } from './reference.ts';

/** What to authenticate with. Exactly one of the three shapes is set. */
export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken` in the Docker config, or a helper answering Username `<token>`). */
  identityToken?: string;
  /** A bearer token to send as is (`registrytoken` in the Docker config). */
  registryToken?: string;
  /** Where it came from, for messages (never the secret itself). */
  source: string;
}

/** Everything credential lookup touches, injectable for tests. */
export interface CredentialsHost {
  env: Record<string, string | undefined>;
  homedir: () => string;
  /** File contents, or undefined when the file does not exist. */
  readFile: (path: string) => Promise<string | undefined>;
  /** Run `program get` with `input` on stdin. `code` is null when the program could not be started (ENOENT). */
  runHelper: (
    program: string,
    input: string,
  ) => Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export const nodeCredentialsHost: CredentialsHost = {
  env: process.env,
  homedir,
  readFile: async (path) => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  runHelper: (program, input) =>
    new Promise((resolve) => {
      const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', (err) => resolve({ code: null, stdout, stderr: err.message }));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }),
};

export interface CredentialOptions {
  /** Explicit credentials (CLI `--username` + `--password-stdin`): they win over every other source. */
  username?: string | undefined;
  password?: string | undefined;
  host?: Partial<CredentialsHost>;
}

/** The key Docker uses for a registry in `config.json` and with credential helpers. */
export function dockerConfigKey(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/**
 * Find credentials for `registry` (as in {@link Reference.registry}). First match wins:
 * 1. explicit `username`/`password` (the CLI's `--username --password-stdin`);
 * 2. `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`): `credHelpers[registry]`, then `credsStore`
 *    (each via `docker-credential-<name> get`), then `auths` (`auth` = base64 `user:pass`, or
 *    `username`/`password`, `identitytoken`, `registrytoken`);
 * 3. `REGISTRY_USERNAME` + `REGISTRY_PASSWORD`;
 * 4. for `ghcr.io`, `GITHUB_TOKEN` (username `GITHUB_ACTOR`, any name works).
 * Returns undefined when nothing matches (anonymous access).
 */
export async function resolveCredentials(
  registry: string,
  options: CredentialOptions = {},
): Promise<Credential | undefined> {
  const host: CredentialsHost = { ...nodeCredentialsHost, ...options.host };
  const env = host.env;

  if (options.username !== undefined || options.password !== undefined) {
    if (!options.username || options.password === undefined) {
      throw new CredentialsError(
        'a username needs a password and a password needs a username',
        'pass both: --username <name> --password-stdin',
      );
    }
    return { username: options.username, password: options.password, source: '--username/--password' };
  }

  const fromConfig = await fromDockerConfig(registry, host);
  if (fromConfig) return fromConfig;

  const user = env.REGISTRY_USERNAME;
  const pass = env.REGISTRY_PASSWORD;
  if (user || pass) {
    if (!user || !pass) {
      throw new CredentialsError(
        `${user ? 'REGISTRY_PASSWORD' : 'REGISTRY_USERNAME'} is not set while the other one is`,
        'set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither',
      );
    }
    return { username: user, password: pass, source: 'REGISTRY_USERNAME/REGISTRY_PASSWORD' };
  }

  if (registry === 'ghcr.io' && env.GITHUB_TOKEN) {
    return { username: env.GITHUB_ACTOR || 'github', password: env.GITHUB_TOKEN, source: 'GITHUB_TOKEN' };
  }
  return undefined;
}

interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

async function fromDockerConfig(registry: string, host: CredentialsHost): Promise<Credential | undefined> {
  const dir = host.env.DOCKER_CONFIG || join(host.homedir(), '.docker');
  const path = join(dir, 'config.json');
  const text = await host.readFile(path);
  if (text === undefined) return undefined;
  let config: DockerConfig;
  try {
    config = JSON.parse(text) as DockerConfig;
  } catch (err) {
    throw new CredentialsError(`${path} is not valid JSON`, `fix or remove ${path}`, { cause: err });
  }
  const wanted = normalizeRegistry(registry);

  const helpers = Object.entries(config.credHelpers ?? {});
  const helper = helpers.find(([key]) => normalizeRegistry(key) === wanted)?.[1];
  for (const name of [helper, config.credsStore]) {
    if (!name) continue;
    const found = await fromHelper(name, registry, host);
    if (found) return found;
  }

  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normalizeRegistry(key) !== wanted || !entry) continue;
    const source = `${path} auths["${key}"]`;
    if (entry.identitytoken) return { identityToken: entry.identitytoken, source };
    if (entry.registrytoken) return { registryToken: entry.registrytoken, source };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) {
        throw new CredentialsError(
          `${source}.auth is not base64 "user:password"`,
          'run scratchpack login again',
        );
      }
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
    }
    if (entry.username && entry.password)
      return { username: entry.username, password: entry.password, source };
  }
  return undefined;
}

async function fromHelper(
  name: string,
  registry: string,
  host: CredentialsHost,
): Promise<Credential | undefined> {
  const program = `docker-credential-${name}`;
  const { code, stdout, stderr } = await host.runHelper(program, dockerConfigKey(registry));
  // Not installed: Docker Desktop configs copied into CI often name a missing helper; fall through.
  if (code === null) return undefined;
  if (code !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined;
    throw new CredentialsError(
      `${program} get failed (exit ${code}): ${(stderr || stdout).trim().slice(0, 200)}`,
      `check the credential helper, or remove "${name}" from the Docker config`,
    );
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch (err) {
    throw new CredentialsError(
      `${program} get printed something that is not JSON`,
      'check the credential helper',
      {
        cause: err,
      },
    );
  }
  if (!parsed.Secret) return undefined;
  const source = program;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret, source };
  return { username: parsed.Username ?? '', password: parsed.Secret, source };
}

/** `https://index.docker.io/v1/` → `docker.io`; `http://ghcr.io/` → `ghcr.io`. */
function normalizeRegistry(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}
