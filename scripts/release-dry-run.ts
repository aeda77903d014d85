/**
 * `pnpm release:dry-run`: the release workflow (.github/workflows/release.yml), run locally against a
 * registry it starts itself — Debian's `docker-registry` on 127.0.0.1 — with the same package scripts the
 * workflow's steps call:
 *
 *   build     pnpm build:images; pnpm --silent release:platforms          (the test matrix)
 *   test      pnpm release:check-platform <every platform of the matrix>  (qemu-user, oldest CPU)
 *   sign      a throwaway ECDSA P-256 key signs a copy of dist/oci with `pnpm release:sign` (as the workflow
 *             does with the repository secret), which the publish steps push with its SBOMs and provenance
 *   publish   pnpm --silent release:tags <tag> --repository <registry>/scratchpack/hello; pnpm publish:images
 *             for a prerelease (v0.0.0-dryrun: its own tag only), then a release (v0.0.0: v0.0.0, 0.0, latest)
 *   verify    skopeo: after each publish the tag list is exactly the tags published so far (so the
 *             prerelease did not move `latest`); then every tag serves exactly dist/oci's index bytes, every
 *             platform manifest is served by digest, and `skopeo copy --all` gives the same index digest;
 *             `scratchpack verify` checks every signature in the registry with the public key (and refuses
 *             another key); the referrers fallback tags (`sha256-<hex>`) are the only other tags
 *   release   pnpm release:assets → SHA256SUMS and summary.md in dist/release (or --out), printed;
 *             pnpm release:github --dry-run (prints the `gh release` commands the workflow would run)
 *
 * The registry is stopped at the end, also on failure or Ctrl-C. Exit code 0 only when every step passed.
 *
 * Options: --skip-build (use the existing dist/), --out DIR, --release vX.Y.Z (repeatable; replaces the two
 * default releases).
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type LocalRegistry, startLocalRegistry } from '@scratchpack/local-registry';
import { sha256 } from '@scratchpack/oci';
import { findOnPath } from '@scratchpack/toolchain';
import {
  defaultLayoutRef,
  isMain,
  layoutManifest,
  parseArgs,
  ReleaseError,
  repoRoot,
  runMain,
  scratchpack,
} from './release-common.ts';

const DEFAULT_RELEASES = ['v0.0.0-dryrun', 'v0.0.0'];
const REPOSITORY = 'scratchpack/hello';
const REQUIRED_TOOLS = ['pnpm', 'docker-registry', 'skopeo'];

/** Environment for the steps: no telemetry, and never write to a surrounding workflow's outputs. */
function stepEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', ...extra };
  delete env.GITHUB_OUTPUT;
  delete env.GITHUB_ENV;
  delete env.GITHUB_STEP_SUMMARY;
  return env;
}

function stage(name: string): () => void {
  const started = Date.now();
  console.log(`\n▶ ${name}`);
  return () => console.log(`✔ ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** `pnpm <args>` with output shown; throws when it fails. */
function pnpm(args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync('pnpm', args, {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: stepEnv(env),
  });
  if (r.error) throw new ReleaseError(`cannot run pnpm: ${r.error.message}`);
  if (r.status !== 0)
    throw new ReleaseError(`\`pnpm ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
}

/**
 * `pnpm <args>` without blocking this process: for steps that talk to the registry it runs, whose log pipe
 * this process must keep reading (a push with referrers makes it log enough to fill a blocked pipe).
 */
function pnpmAsync(args: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('pnpm', args, {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: stepEnv(env),
    });
    child.on('error', (e) => reject(new ReleaseError(`cannot run pnpm: ${e.message}`)));
    child.on('close', (code, signal) =>
      code === 0
        ? resolvePromise()
        : reject(new ReleaseError(`\`pnpm ${args.join(' ')}\` failed (exit ${code ?? signal})`)),
    );
  });
}

/** `pnpm --silent <args>`, returning stdout (stderr shown); throws when it fails. */
function pnpmOutput(args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync('pnpm', ['--silent', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: stepEnv(env),
  });
  if (r.error) throw new ReleaseError(`cannot run pnpm: ${r.error.message}`);
  if (r.status !== 0)
    throw new ReleaseError(`\`pnpm --silent ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
  return r.stdout;
}

/** Parse KEY=VALUE lines (what release:tags prints for $GITHUB_ENV). */
export function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function skopeo(args: string[]): Buffer {
  const r = spawnSync('skopeo', args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  if (r.error) throw new ReleaseError(`cannot run skopeo: ${r.error.message}`);
  if (r.status !== 0)
    throw new ReleaseError(`\`skopeo ${args.join(' ')}\` failed:\n${r.stderr.toString().trim()}`);
  return r.stdout;
}

/** Referrers fallback tags (`sha256-<hex>`): a registry without the referrers API lists them too. */
const FALLBACK_TAG = /^sha256-[0-9a-f]{64}$/;

/** Check through skopeo that the repository's tag list is exactly `tags` (besides referrers fallback tags). */
function verifyTagList(registry: LocalRegistry, tags: string[]): void {
  const repo = `docker://${registry.host}/${REPOSITORY}`;
  const all = (
    JSON.parse(skopeo(['list-tags', '--tls-verify=false', repo]).toString('utf8')) as { Tags: string[] }
  ).Tags;
  const listed = all.filter((t) => !FALLBACK_TAG.test(t));
  if (all.length > listed.length)
    console.log(`  referrers fallback tags: ${all.length - listed.length} (SBOMs, provenance, signatures)`);
  const got = [...listed].sort();
  const want = [...tags].sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new ReleaseError(
      `the registry lists tags [${got.join(', ')}], expected exactly [${want.join(', ')}]`,
    );
  }
  console.log(`  tags listed: ${want.join(', ')}`);
}

/** Check through skopeo that the registry serves exactly what dist/oci holds under every one of `tags`. */
async function verifyRegistry(registry: LocalRegistry, tags: string[], releaseTag: string): Promise<string> {
  const { digest, bytes } = await layoutManifest(defaultLayoutRef);
  const repo = `docker://${registry.host}/${REPOSITORY}`;
  for (const tag of tags) {
    const served = skopeo(['inspect', '--raw', '--tls-verify=false', `${repo}:${tag}`]);
    if (!served.equals(bytes)) {
      throw new ReleaseError(
        `${registry.host}/${REPOSITORY}:${tag} serves ${sha256(served)} (${served.length} bytes), not dist/oci's index ${digest} (${bytes.length} bytes)`,
      );
    }
    console.log(`  ${tag} → ${digest} (byte-identical to dist/oci)`);
  }
  const index = JSON.parse(bytes.toString('utf8')) as {
    manifests: { digest: string; platform?: { architecture: string } }[];
  };
  for (const m of index.manifests) {
    const served = skopeo(['inspect', '--raw', '--tls-verify=false', `${repo}@${m.digest}`]);
    if (!sha256(served).equals(m.digest))
      throw new ReleaseError(`manifest ${m.digest}: the registry served ${sha256(served)}`);
  }
  console.log(`  ${index.manifests.length} platform manifests served by digest`);

  const copy = await mkdtemp(join(tmpdir(), 'scratchpack-dryrun-copy-'));
  try {
    skopeo([
      'copy',
      '--all',
      '--quiet',
      '--src-tls-verify=false',
      `${repo}:${releaseTag}`,
      `oci:${copy}:${releaseTag}`,
    ]);
    const copied = JSON.parse(await readFile(join(copy, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    if (copied.manifests[0]?.digest !== digest) {
      throw new ReleaseError(
        `skopeo copy --all of ${releaseTag} gave index ${copied.manifests[0]?.digest}, expected ${digest}`,
      );
    }
    console.log(`  skopeo copy --all ${releaseTag}: every blob served, same index ${digest}`);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
  return digest;
}

export async function dryRun(
  opts: { skipBuild?: boolean; out?: string; releases?: string[] } = {},
): Promise<void> {
  const started = Date.now();
  const missing = REQUIRED_TOOLS.filter((t) => !findOnPath(t));
  if (missing.length) {
    throw new ReleaseError(
      `missing ${missing.join(', ')}: run \`pnpm test:setup\` (installs docker-registry, skopeo, qemu-user-static)`,
    );
  }
  const releases = opts.releases?.length ? opts.releases : DEFAULT_RELEASES;
  const out = resolve(repoRoot, opts.out ?? 'dist/release');

  let done = stage('build: pnpm build:images');
  if (opts.skipBuild) console.log('  skipped (--skip-build): using the existing dist/');
  else pnpm(['build:images']);
  done();

  done = stage('build: pnpm --silent release:platforms');
  const platforms = JSON.parse(pnpmOutput(['release:platforms'])) as string[];
  console.log(`  test matrix: ${platforms.join(', ')}`);
  done();

  done = stage(`test: pnpm release:check-platform (${platforms.length} platforms under qemu-user)`);
  pnpm(['release:check-platform', ...platforms]);
  done();

  done = stage('sign: a throwaway key signs a copy of dist/oci (pnpm release:sign)');
  const signing = await mkdtemp(join(tmpdir(), 'scratchpack-dryrun-sign-'));
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = join(signing, 'pub.pem');
  const wrong = join(signing, 'wrong.pem');
  await writeFile(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(
    wrong,
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );
  await cp(join(repoRoot, 'dist', 'oci'), join(signing, 'oci'), { recursive: true });
  const layoutEnv = { IMAGE_LAYOUT: `${join(signing, 'oci')}:latest` };
  pnpm(['release:sign'], {
    ...layoutEnv,
    SIGNING_KEY: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  });
  done();

  done = stage('registry: docker-registry on 127.0.0.1');
  const registry = await startLocalRegistry();
  console.log(`  ${registry.url}`);
  done();
  const stopRegistry = async () => {
    await registry.stop();
    console.log(`registry on ${registry.host} stopped`);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the registry`);
    void registry.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const published: string[] = [];
    let env: Record<string, string> = {};
    for (const release of releases) {
      done = stage(`publish ${release}: pnpm --silent release:tags; pnpm publish:images`);
      env = parseEnvLines(
        pnpmOutput(['release:tags', release, '--repository', `${registry.host}/${REPOSITORY}`]),
      );
      if (!env.IMAGE_REF || env.IMAGE_TAGS === undefined || !env.RELEASE_TAG) {
        throw new ReleaseError(`release:tags printed no IMAGE_REF/IMAGE_TAGS/RELEASE_TAG for ${release}`);
      }
      console.log(`  IMAGE_REF=${env.IMAGE_REF} IMAGE_TAGS=${env.IMAGE_TAGS}`);
      await pnpmAsync(['publish:images'], { ...env, ...layoutEnv });
      published.push(env.RELEASE_TAG, ...env.IMAGE_TAGS.split(',').filter(Boolean));
      // Exactly the tags published so far: a prerelease must not have moved `X.Y` or `latest`.
      verifyTagList(registry, [...new Set(published)]);
      done();
    }
    const tags = [...new Set(published)];

    done = stage('verify: skopeo against the registry');
    const digest = await verifyRegistry(registry, tags, env.RELEASE_TAG!);
    done();

    done = stage('verify: scratchpack verify the signatures in the registry');
    const signedRef = `${registry.host}/${REPOSITORY}:${env.RELEASE_TAG}`;
    const ok = scratchpack(['verify', signedRef, '--key', pub]);
    if (ok.status !== 0)
      throw new ReleaseError(`scratchpack verify ${signedRef} failed:\n${ok.stderr.trim()}`);
    process.stdout.write(ok.stdout.replace(/^/gm, '  '));
    const refused = scratchpack(['verify', signedRef, '--key', wrong]);
    if (refused.status === 0) throw new ReleaseError(`scratchpack verify ${signedRef} accepted another key`);
    console.log('  another key is refused');
    done();

    done = stage('release: pnpm release:assets; pnpm release:github --dry-run');
    pnpm(['release:assets', '--out', out], env);
    pnpm(['release:github', '--dry-run', '--out', out], env);
    done();

    const sums = await readFile(join(out, 'SHA256SUMS'), 'utf8');
    console.log(`\nregistry ${registry.host} served index ${digest} for tags: ${tags.join(', ')}`);
    console.log(`SHA256SUMS (${join(out, 'SHA256SUMS')}):\n${sums.trimEnd()}`);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await stopRegistry();
    await rm(signing, { recursive: true, force: true });
  }
  console.log(`\nrelease dry run passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const { values, flags } = parseArgs(process.argv.slice(2), {
      values: ['out'],
      repeatable: ['release'],
      flags: ['skip-build'],
    });
    try {
      await dryRun({
        skipBuild: flags.has('skip-build'),
        ...(values.out ? { out: values.out[0]! } : {}),
        ...(values.release ? { releases: values.release } : {}),
      });
    } catch (err) {
      if (err instanceof ReleaseError) throw new ReleaseError(`release dry run failed: ${err.message}`);
      throw err;
    }
  });
}
