import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifact, MediaTypes, sha256 } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import { planBlobs } from '../src/push-plan.ts';
import { artifactPushBlob } from '../src/upload.ts';
import { supplyChain, testIndex } from './images.ts';

describe('planBlobs', () => {
  it("puts each image's referrers' blobs right after its own, each digest once", async () => {
    const index = await testIndex({ salt: 'plan' });
    const referrers = await supplyChain(index);
    const images = (await index.images()).map((c) => c.image);
    const planned = (await planBlobs(images, referrers)).map((b) => b.digest);
    expect(new Set(planned).size).toBe(planned.length);
    // Where each image's last blob is, and where the first blob of a referrer of the next image is.
    const position = (d: string) => planned.indexOf(d);
    for (const [i, image] of images.entries()) {
      const m = await image.manifest();
      const own = Math.max(...[m.config.digest, ...m.layers.map((l) => l.digest)].map(position));
      const digest = (await image.digest()).toString();
      // Their documents (the empty config they share was planned with the first image's).
      const theirs = referrers
        .filter((a) => a.manifest.subject?.digest === digest)
        .flatMap((a) => a.blobs.filter((b) => b.descriptor.digest !== a.manifest.config.digest))
        .map((b) => position(b.descriptor.digest));
      expect(theirs).toHaveLength(3);
      expect(Math.min(...theirs)).toBeGreaterThan(own);
      const next = images[i + 1];
      if (next) {
        const nm = await next.manifest();
        // The next image's own blobs come after this image's referrers' blobs.
        const nextOwn = Math.max(...[nm.config.digest, ...nm.layers.map((l) => l.digest)].map(position));
        expect(nextOwn).toBeGreaterThan(Math.max(...theirs));
      }
    }
    // Every blob of every referrer is planned (the signature of an SBOM too, last).
    for (const a of referrers)
      for (const b of a.blobs) expect(position(b.descriptor.digest)).toBeGreaterThanOrEqual(0);
  });
});

describe('artifactPushBlob', () => {
  it('sends a file-backed document from its file, checked as it is read, never read whole first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'artifact-push-'));
    try {
      const doc = Buffer.from('{"spdxVersion":"SPDX-2.3"}\n');
      const file = join(dir, 'sbom.json');
      await writeFile(file, doc);
      const subject = {
        mediaType: MediaTypes.ociManifest,
        digest: sha256(Buffer.from('s')).toString(),
        size: 1,
      };
      const a = artifact({
        artifactType: 'application/spdx+json',
        subject,
        layers: [
          { mediaType: 'application/spdx+json', file, digest: sha256(doc).toString(), size: doc.length },
        ],
      });
      const layer = a.blobs.find((b) => b.file !== undefined)!;
      const blob = artifactPushBlob(layer);
      expect(blob).toMatchObject({ digest: sha256(doc).toString(), size: doc.length, file });
      expect(blob.bytes).toBeUndefined();
      const read: Buffer[] = [];
      for await (const c of blob.open() as AsyncIterable<Uint8Array>) read.push(Buffer.from(c));
      expect(Buffer.concat(read).equals(doc)).toBe(true);
      // The file changed since it was hashed: the bytes are refused, not sent.
      await writeFile(file, Buffer.from('{"spdxVersion":"SPDX-2.2"}\n'));
      await expect(async () => {
        for await (const _ of artifactPushBlob(layer).open() as AsyncIterable<Uint8Array>);
      }).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
      // A held blob (the empty config) goes as its bytes.
      const config = a.blobs.find((b) => b.file === undefined)!;
      expect(Buffer.from(artifactPushBlob(config).bytes!).equals(config.bytes)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
