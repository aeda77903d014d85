/**
 * Helpers shared by the release scripts (scripts/release-*.ts). Each of those scripts is one step of
 * .github/workflows/release.yml and also runs locally; `pnpm release:dry-run` chains them.
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs as parseArgv } from 'node:util';
import { ScratchpackError, type ScratchpackErrorOptions, sha256 } from '@scratchpack/oci';

// Not turbo tasks: these scripts read the GitHub Actions environment directly.
const env = process.env;

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cliBin = join(repoRoot, 'apps', 'cli', 'bin', 'scratchpack.js');
/** What `pnpm build:images` writes. */
export const defaultLayoutRef = 'dist/oci:latest';
export const defaultArchive = 'dist/hello.oci.tar';

/** An expected failure: the scripts print its message (no stack) and exit 1. */
export class ReleaseError extends ScratchpackError {
  declare readonly code: 'RELEASE_FAILED';
  override name = 'ReleaseError';
  constructor(message: string, options: ScratchpackErrorOptions = {}) {
    super('RELEASE_FAILED', message, options);
  }
}

/** True when `moduleUrl` is the script node was started with (so importing a script from a test runs nothing). */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && resolve(entry) === fileURLToPath(moduleUrl);
}

/** Run `main`, turning a ReleaseError into `error: …` on stderr and exit code 1. */
export function runMain(main: () => Promise<void> | void): void {
  Promise.resolve()
    .then(main)
    .catch((err: unknown) => {
      if (err instanceof ReleaseError) console.error(`error: ${err.message}`);
      else console.error(err);
      process.exitCode = 1;
    });
}

export interface Captured {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion, capturing its output (stdin closed). */
export function capture(command: string, args: string[], opts: SpawnSyncOptions = {}): Captured {
  const r = spawnSync(command, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
  });
  if (r.error) throw new ReleaseError(`cannot run ${command}: ${r.error.message}`);
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Run the scratchpack CLI (as `pnpm scratchpack …` does) and capture its output. */
export function scratchpack(args: string[], opts: SpawnSyncOptions = {}): Captured {
  return capture(process.execPath, [cliBin, ...args], opts);
}

/** Run the scratchpack CLI and parse its `--json` output; fail with its stderr when it fails. */
export function scratchpackJson<T>(args: string[]): T {
  const r = scratchpack([...args, '--json']);
  if (r.status !== 0) {
    throw new ReleaseError(`scratchpack ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr.trim()}`);
  }
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new ReleaseError(
      `scratchpack ${args.join(' ')} --json printed no JSON:\n${r.stdout.slice(0, 500)}`,
    );
  }
}

/** What `scratchpack inspect <layout:tag> --json` prints (the fields the release uses). */
export interface InspectResult {
  reference: string;
  tag: string | null;
  digest: string;
  mediaType: string;
  annotations: Record<string, string>;
  validated: boolean;
  images: { platform: string; digest: string; mediaType: string; size: number; layers: { size: number }[] }[];
}

export function inspectLayout(ref = defaultLayoutRef): InspectResult {
  return scratchpackJson<InspectResult>(['inspect', ref]);
}

/** `dist/oci:latest` → `{ dir: '<repo>/dist/oci', tag: 'latest' }` (relative paths are from the repository). */
export function splitLayoutRef(ref: string): { dir: string; tag: string } {
  const i = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  const [dir, tag] = i > slash ? [ref.slice(0, i), ref.slice(i + 1)] : [ref, 'latest'];
  return { dir: resolve(repoRoot, dir), tag };
}

/** The raw bytes and digest of the manifest or index a layout tag points at, read straight from the layout. */
export async function layoutManifest(ref = defaultLayoutRef): Promise<{ digest: string; bytes: Buffer }> {
  const { dir, tag } = splitLayoutRef(ref);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests?: { digest: string; annotations?: Record<string, string> }[];
  };
  const desc = index.manifests?.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!desc)
    throw new ReleaseError(`${dir}/index.json has no manifest tagged "${tag}" (run \`pnpm build:images\`)`);
  const [alg, hex] = desc.digest.split(':');
  const bytes = await readFile(join(dir, 'blobs', alg!, hex!));
  if (!sha256(bytes).equals(desc.digest))
    throw new ReleaseError(`${dir}: blob ${desc.digest} does not match its digest`);
  return { digest: desc.digest, bytes };
}

/** Append `name=value` to $GITHUB_OUTPUT when running in GitHub Actions. */
export function setGithubOutput(name: string, value: string): void {
  const file = env.GITHUB_OUTPUT;
  if (file) appendFileSync(file, `${name}=${value}\n`);
}

/** Append markdown to $GITHUB_STEP_SUMMARY when running in GitHub Actions. */
export function appendStepSummary(markdown: string): void {
  const file = env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, `${markdown.trimEnd()}\n`);
}

type ArgToken = NonNullable<ReturnType<typeof parseArgv>['tokens']>[number];

/** node's argument tokens of `args`, where a `--` (as pnpm passes one on) is skipped instead of ending the options. */
function argTokens(args: string[], options: ParseArgsConfig['options']): ArgToken[] {
  const { tokens } = parseArgv({ args, options, strict: false, allowPositionals: true, tokens: true });
  const end = tokens.findIndex((t) => t.kind === 'option-terminator');
  if (end < 0) return tokens;
  const next = tokens[end]!.index + 1;
  const rest = argTokens(args.slice(next), options).map((t) => ({ ...t, index: t.index + next }));
  return [...tokens.slice(0, end), ...rest];
}

/**
 * `--flag value` / `--flag=value` / `--flag` / positional parsing for the release scripts (node's `parseArgs`
 * tokens): `values` take one value, `repeatable` ones any number, `flags` none; anything else starting with `--`
 * is refused. Single-dash words are positional.
 */
export function parseArgs(
  argv: string[],
  spec: { values?: string[]; flags?: string[]; repeatable?: string[] },
): { positional: string[]; values: Record<string, string[]>; flags: Set<string> } {
  const values: Record<string, string[]> = {};
  const flags = new Set<string>();
  const positional: string[] = [];
  const options: ParseArgsConfig['options'] = {};
  for (const name of [...(spec.values ?? []), ...(spec.repeatable ?? [])]) options[name] = { type: 'string' };
  for (const name of spec.flags ?? []) options[name] ??= { type: 'boolean' };
  let shortAt = -1;
  for (const t of argTokens(argv, options)) {
    if (t.kind === 'positional') positional.push(t.value);
    if (t.kind !== 'option') continue;
    const a = argv[t.index]!;
    if (!t.rawName.startsWith('--')) {
      // `-x` (or the letters of `-xyz`, one token each): a positional word here
      if (t.index !== shortAt) positional.push(a);
      shortAt = t.index;
    } else if (options[t.name]?.type === 'string') {
      if (t.value === undefined) throw new ReleaseError(`--${t.name} needs a value`);
      if (values[t.name] && !spec.repeatable?.includes(t.name))
        throw new ReleaseError(`--${t.name} given twice`);
      values[t.name] = [...(values[t.name] ?? []), t.value];
    } else if (options[t.name]?.type === 'boolean' && t.value === undefined) {
      flags.add(t.name);
    } else {
      throw new ReleaseError(`unknown option ${a}`);
    }
  }
  return { positional, values, flags };
}
