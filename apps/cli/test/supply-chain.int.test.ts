/**
 * Supply chain end to end with the real parts: zig compiles hello (writing build info as the compile task
 * does), the CLI builds in two folders and the SBOMs/provenance are byte-identical and schema-valid, their
 * subjects are the real manifests and they record the real zig and source digests; the index digest is
 * the same as a build without them; `push` to Debian's docker-registry (no referrers API) makes them
 * reachable through `sha256-<hex>` fallback tags (read back with skopeo); `sign`/`verify` work against that
 * registry and a layout, and @sigstore/verify accepts the signatures with the public key.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUNDLE_MEDIA_TYPE,
  loadPrivateKey,
  messageSignatureBundle,
  writeBuildInfos,
} from '@scratchpack/attest';
import { artifact, type Descriptor, sha256, writeReferrers } from '@scratchpack/oci';
import { describeWithTools, type RunningRegistry, startRegistry, tempDir } from '@scratchpack/test-utils';
import { compileProgram, findPlatform, resolveZig } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sigstoreVerify, validators } from '../../../packages/attest/test/helpers.ts';
import { layoutSchemaProblems } from '../../../packages/oci/test/image-spec.ts';
import { cli, repoRoot } from './helpers.ts';

const PLATFORMS = ['linux/amd64', 'linux/arm64/v8', 'linux/riscv64'];
const { spdx, cyclonedx } = validators();

/** packages/hello copied to `folder`, compiled with build info as its compile script does, then built. */
async function build(folder: string, extra: string[] = []) {
  const hello = join(repoRoot, 'packages', 'hello');
  await mkdir(join(folder, 'src'), { recursive: true });
  await cp(join(hello, 'src', 'hello.c'), join(folder, 'src', 'hello.c'));
  await cp(join(hello, 'Dockerfile'), join(folder, 'Dockerfile'));
  const { helloCompileOptions } = await import('@scratchpack/hello');
  const options = helloCompileOptions(folder);
  const results = await compileProgram({
    name: 'hello',
    options,
    platforms: PLATFORMS.map((p) => findPlatform(p)),
    out: (p) => join(folder, 'dist', p.label, 'hello'),
  });
  await writeBuildInfos(results, { zig: resolveZig(), sources: options.sources, cwd: folder, name: 'hello' });
  // biome-ignore format: one flag per pair reads better
  const args = ['build', 'dist/{label}', '-f', 'Dockerfile', '--platform', PLATFORMS.join(','), '-t', 'latest',
    '--image-name', 'scratchpack/hello', '-o', 'out/oci', '-o', 'out/hello.oci.tar', '--json', ...extra];
  const r = await cli(args, { cwd: folder });
  if (r.status !== 0 || r.stderr) throw new Error(`build failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as { index: string; images: { platform: string; digest: string }[] };
}

const blob = (layout: string, digest: string) => readFile(join(layout, 'blobs', 'sha256', digest.slice(7)));
const json = async (layout: string, digest: string) => JSON.parse((await blob(layout, digest)).toString());
const entries = async (layout: string) =>
  (JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] }).manifests;

describeWithTools(['docker-registry', 'skopeo'], 'SBOMs, provenance and signatures (real tools)', () => {
  let a: Awaited<ReturnType<typeof tempDir>>;
  let b: Awaited<ReturnType<typeof tempDir>>;
  let c: Awaited<ReturnType<typeof tempDir>>;
  let registry: RunningRegistry;
  let first: Awaited<ReturnType<typeof build>>;
  let layout: string;
  const keys = () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return {
      priv: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      pub: k.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    };
  };
  const key = keys();
  const other = keys();

  beforeAll(async () => {
    a = await tempDir('supply-a-');
    b = await tempDir('supply-b-');
    c = await tempDir('supply-c-');
    first = await build(a.path);
    layout = join(a.path, 'out', 'oci');
    await writeFile(join(a.path, 'key.pem'), key.priv);
    await writeFile(join(a.path, 'pub.pem'), key.pub);
    await writeFile(join(a.path, 'other.pem'), other.pub);
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    for (const t of [a, b, c]) await t?.cleanup();
  });

  it('writes SPDX, CycloneDX and provenance beside each platform image, byte-identical from another folder', async () => {
    const second = await build(join(b.path, 'elsewhere', 'deeper'));
    expect(second.index).toBe(first.index);
    const other = join(b.path, 'elsewhere', 'deeper', 'out');
    expect(
      (await readFile(join(other, 'oci', 'index.json'))).equals(await readFile(join(layout, 'index.json'))),
    ).toBe(true);
    expect(
      (await readFile(join(other, 'hello.oci.tar'))).equals(
        await readFile(join(a.path, 'out', 'hello.oci.tar')),
      ),
    ).toBe(true);
    const types = (await entries(layout)).filter((e) => e.artifactType).map((e) => e.artifactType);
    expect(types).toHaveLength(PLATFORMS.length * 3);
    expect(new Set(types)).toEqual(
      new Set(['application/spdx+json', 'application/vnd.cyclonedx+json', 'application/vnd.in-toto+json']),
    );
    expect((await readdir(join(a.path, 'dist', 'linux-amd64'))).sort()).toEqual([
      'hello',
      'hello.build-info.json',
    ]);
  });

  it('leaves the index digest as it is without them (--no-sbom --no-provenance writes none)', async () => {
    const plain = await build(c.path, ['--no-sbom', '--no-provenance']);
    expect(plain.index).toBe(first.index);
    expect(plain.images).toEqual(first.images);
    expect((await entries(join(c.path, 'out', 'oci'))).filter((e) => e.artifactType)).toEqual([]);
    // The image layer holds /hello only: the build-info file beside it is not in the image.
    const amd = await json(layout, first.images[0]!.digest);
    const tar = execFileSync('tar', ['-tzf', '-'], {
      input: await blob(layout, amd.layers[0].digest),
    }).toString();
    expect(tar.trim().split('\n')).toEqual(['hello']);
  });

  it('a rebuild with other inputs replaces the documents of the same image instead of piling them up', async () => {
    const copy = join(a.path, 'rebuilt');
    await cp(layout, copy, { recursive: true });
    const before = (await entries(copy)).filter((e) => e.artifactType).map((e) => e.digest);
    const r2 = await cli(
      [
        'build',
        'dist/{label}',
        '-f',
        'Dockerfile',
        '--platform',
        PLATFORMS.join(','),
        '--image-name',
        'other/name',
        '-o',
        copy,
      ],
      { cwd: a.path },
    );
    expect(r2.status, r2.stderr).toBe(0);
    const after = (await entries(copy)).filter((e) => e.artifactType).map((e) => e.digest);
    // Same images, other name: the new documents replaced the originals (signatures would stay).
    expect(after).toHaveLength(PLATFORMS.length * 3);
    expect(after.filter((d) => before.includes(d))).toEqual([]);
  });

  it('documents validate against their schemas, name the real manifests, binaries, zig and sources', async () => {
    const zig = resolveZig();
    const source = sha256(await readFile(join(a.path, 'src', 'hello.c'))).hex;
    for (const e of (await entries(layout)).filter((x) => x.artifactType)) {
      const m = await json(layout, e.digest);
      const image = first.images.find((i) => i.digest === m.subject.digest);
      expect(image, `subject of ${e.digest}`).toBeDefined();
      expect(m.subject.size).toBe((await blob(layout, m.subject.digest)).length);
      const label = image!.platform.replaceAll('/', '-');
      const binary = sha256(await readFile(join(a.path, 'dist', label, 'hello'))).hex;
      const doc = await json(layout, m.layers[0].digest);
      if (e.artifactType === 'application/spdx+json') {
        expect(spdx(doc)).toEqual([]);
        expect(doc.documentNamespace).toContain(m.subject.digest.slice(7));
        const pkg = (n: string) => doc.packages.find((p: { name: string }) => p.name === n);
        expect(pkg('hello').checksums[0].checksumValue).toBe(binary);
        // The one file in the image is that binary.
        const inImage = doc.files.filter((f: { comment?: string }) => f.comment === 'in the image');
        expect(inImage.map((f: { fileName: string }) => f.fileName)).toEqual(['./hello']);
        expect(inImage[0].checksums).toContainEqual({ algorithm: 'SHA256', checksumValue: binary });
        expect(pkg('zig').versionInfo).toBe(zig.version);
        expect(pkg('musl')).toBeUndefined(); // hello is built with -nostdlib
        expect(
          doc.files.find((f: { fileName: string }) => f.fileName === './src/hello.c').checksums,
        ).toContainEqual({ algorithm: 'SHA256', checksumValue: source });
      } else if (e.artifactType === 'application/vnd.cyclonedx+json') {
        expect(cyclonedx(doc)).toEqual([]);
        expect(doc.metadata.component.version).toBe(m.subject.digest);
        expect(doc.components.find((x: { name: string }) => x.name === 'zig').version).toBe(zig.version);
      } else {
        expect(doc.subject[0].digest.sha256).toBe(m.subject.digest.slice(7));
        expect(doc.predicate.buildDefinition.externalParameters.platform).toBe(image!.platform);
        expect(doc.predicate.buildDefinition.resolvedDependencies).toContainEqual(
          expect.objectContaining({
            uri: 'file:///src/hello.c',
            digest: expect.objectContaining({ sha256: source }),
          }),
        );
      }
    }
  });

  it('inspect lists the referrers; sbom prints the stored document', async () => {
    const r = await cli(['inspect', `${layout}:latest`, '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).referrers).toHaveLength(PLATFORMS.length * 3);
    const s = await cli(['sbom', `${layout}:latest`, '--platform', 'linux/riscv64', '--format', 'cyclonedx']);
    expect(s.status).toBe(0);
    const doc = JSON.parse(s.stdout);
    expect(doc.metadata.component.version).toBe(
      first.images.find((i) => i.platform === 'linux/riscv64')!.digest,
    );
    const none = await cli(['sbom', `${join(c.path, 'out', 'oci')}:latest`, '--platform', 'linux/amd64']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/has no spdx SBOM/);
  });

  it('import records the tarball by its sha256 (SPDX EXPANDED_FROM_ARCHIVE, provenance dependency)', async () => {
    await mkdir(join(c.path, 'rootfs', 'etc'), { recursive: true });
    await writeFile(join(c.path, 'rootfs', 'etc', 'note'), 'hi\n');
    const tarball = join(c.path, 'rootfs.tar');
    execFileSync('tar', ['-C', join(c.path, 'rootfs'), '-cf', tarball, '.']);
    const r = await cli(['import', tarball, `${join(c.path, 'imported')}:x`, '--platform', 'linux/amd64']);
    expect(r.status, r.stderr).toBe(0);
    const hex = sha256(await readFile(tarball)).hex;
    const s = await cli(['sbom', `${join(c.path, 'imported')}:x`, '--platform', 'linux/amd64']);
    const doc = JSON.parse(s.stdout);
    expect(spdx(doc)).toEqual([]);
    const tar = doc.packages.find((p: { name: string }) => p.name === 'rootfs.tar');
    expect(tar.checksums).toEqual([{ algorithm: 'SHA256', checksumValue: hex }]);
    expect(doc.relationships).toContainEqual(
      expect.objectContaining({ relationshipType: 'EXPANDED_FROM_ARCHIVE', relatedSpdxElement: tar.SPDXID }),
    );
  });

  it('sign and verify on a layout; a wrong key, a changed image and a missing signature fail, naming what', async () => {
    const missing = await cli(['verify', `${layout}:latest`, '--key', join(a.path, 'pub.pem')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/index sha256:[0-9a-f]{64}: no signature/);
    // Signatures of the previous format (message signatures) still verify, with a notice.
    const legacy = join(a.path, 'legacy');
    await cp(layout, legacy, { recursive: true });
    const tagged = (await entries(legacy)).find(
      (e) => e.annotations?.['org.opencontainers.image.ref.name'] === 'latest',
    )!;
    const children = (await json(legacy, tagged.digest)).manifests as Descriptor[];
    const priv = loadPrivateKey(key.priv, 'key');
    const legacySigs = [];
    for (const d of [tagged, ...children]) {
      const bundle = Buffer.from(JSON.stringify(messageSignatureBundle(await blob(legacy, d.digest), priv)));
      const subject = { mediaType: d.mediaType, digest: d.digest, size: d.size };
      legacySigs.push(
        artifact({
          artifactType: BUNDLE_MEDIA_TYPE,
          subject,
          layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: bundle }],
        }),
      );
    }
    await writeReferrers(legacy, legacySigs);
    const old = await cli(['verify', `${legacy}:latest`, '--key', join(a.path, 'pub.pem')]);
    expect(old.status).toBe(0);
    expect(old.stderr.match(/^notice: .* previous format/gm)).toHaveLength(1 + PLATFORMS.length);
    const s = await cli(['sign', `${layout}:latest`, '--key', join(a.path, 'key.pem')]);
    expect(s.stderr).toBe('');
    expect(s.stdout.match(/^signed /gm)).toHaveLength(1 + PLATFORMS.length);
    expect(await layoutSchemaProblems(layout)).toEqual([]); // a signed layout, per image-spec v1.1.1
    const ok = await cli(['verify', `${layout}:latest`, '--key', join(a.path, 'pub.pem')]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const wrong = await cli(['verify', `${layout}:latest`, '--key', join(a.path, 'other.pem')]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/linux\/arm64\/v8 sha256:[0-9a-f]{64}: signed with another key/);
    // @sigstore/verify (an independent implementation) accepts each stored bundle over the manifest bytes.
    for (const e of (await entries(layout)).filter(
      (x) => x.artifactType === 'application/vnd.dev.sigstore.bundle.v0.3+json',
    )) {
      const m = await json(layout, e.digest);
      const bundle = await json(layout, m.layers[0].digest);
      const subject = await blob(layout, m.subject.digest);
      expect(m.annotations).toMatchObject({
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
        'org.opencontainers.image.created': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
      expect(() => sigstoreVerify(bundle, subject, key.pub)).not.toThrow();
      expect(() => sigstoreVerify(bundle, subject, other.pub)).toThrow();
      // The same manifest with one byte changed is refused.
      const changed = Buffer.from(subject.toString().replace('"schemaVersion":2', '"schemaVersion":3'));
      expect(() => sigstoreVerify(bundle, changed, key.pub)).toThrow();
    }
    // Change the image (another label): the tag moves to an unsigned index and verify says so.
    const changed = join(a.path, 'changed');
    await cp(layout, changed, { recursive: true });
    const r = await cli(
      [
        'build',
        'dist/{label}',
        '-f',
        'Dockerfile',
        '--platform',
        'linux/amd64',
        '--label',
        'x=y',
        '-o',
        changed,
      ],
      { cwd: a.path },
    );
    expect(r.status).toBe(0);
    const after = await cli(['verify', `${changed}:latest`, '--key', join(a.path, 'pub.pem')]);
    expect(after.status).toBe(1);
    expect(after.stderr).toMatch(/linux\/amd64 sha256:[0-9a-f]{64}: no signature/);
  });

  it('push sends the referrers; the registry (no referrers API) serves them at sha256-<hex> fallback tags', async () => {
    const p = await cli(['push', `${layout}:latest`, `${registry.host}/hello:1.0.0`, '--json']);
    expect(p.stderr).toBe('');
    expect(p.status).toBe(0);
    const pushed = JSON.parse(p.stdout);
    expect(pushed.digest).toBe(first.index);
    expect(pushed.referrers).toBe(PLATFORMS.length * 3 + 1 + PLATFORMS.length);
    expect(pushed.fallbackTags).toHaveLength(1 + PLATFORMS.length);
    for (const image of first.images) {
      const raw = execFileSync('skopeo', [
        'inspect',
        '--raw',
        '--tls-verify=false',
        `docker://${registry.host}/hello:sha256-${image.digest.slice(7)}`,
      ]);
      const idx = JSON.parse(raw.toString());
      expect(idx.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      expect(idx.manifests.map((d: Descriptor) => d.artifactType).sort()).toEqual([
        'application/spdx+json',
        'application/vnd.cyclonedx+json',
        'application/vnd.dev.sigstore.bundle.v0.3+json',
        'application/vnd.in-toto+json',
      ]);
    }
    const tagged = execFileSync('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/hello:1.0.0`,
    ]);
    expect(sha256(tagged).toString()).toBe(first.index);
  });

  it('verify, sign and sbom work against the registry; pull --referrers brings them into a layout', async () => {
    const ref = `${registry.host}/hello:1.0.0`;
    const v = await cli(['verify', ref, '--key', join(a.path, 'pub.pem')]);
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
    const wrong = await cli(['verify', ref, '--key', join(a.path, 'other.pem')]);
    expect(wrong.status).toBe(1);
    const sbom = await cli(['sbom', ref, '--platform', 'linux/arm64/v8']);
    expect(spdx(JSON.parse(sbom.stdout))).toEqual([]);
    // A second key signs in the registry too; its signatures are appended to the fallback tags.
    const k2 = keys();
    await writeFile(join(a.path, 'k2.pem'), k2.priv);
    await writeFile(join(a.path, 'k2.pub'), k2.pub);
    const s = await cli(['sign', ref, '--key', join(a.path, 'k2.pem')]);
    expect(s.stderr).toBe('');
    expect((await cli(['verify', ref, '--key', join(a.path, 'k2.pub')])).status).toBe(0);
    const dest = join(a.path, 'pulled');
    const pull = await cli(['pull', ref, `${dest}:x`, '--referrers', '--json']);
    expect(pull.stderr).toBe('');
    expect(JSON.parse(pull.stdout).referrers).toBe(PLATFORMS.length * 3 + 2 * (1 + PLATFORMS.length));
    expect((await cli(['verify', `${dest}:x`, '--key', join(a.path, 'pub.pem')])).status).toBe(0);
    expect((await cli(['verify', `${dest}:x`, '--key', join(a.path, 'k2.pub')])).status).toBe(0);
    const fromLayout = await cli(['sbom', `${layout}:latest`, '--platform', 'linux/arm64/v8']);
    const fromPulled = await cli(['sbom', `${dest}:x`, '--platform', 'linux/arm64/v8']);
    expect(fromPulled.stdout).toBe(fromLayout.stdout);
  });
});
