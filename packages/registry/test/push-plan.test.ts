import { describe, expect, it } from 'vitest';
import { planBlobs } from '../src/push-plan.ts';
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
