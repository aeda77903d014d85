/** The registry publisher against Debian's docker-registry on loopback: push, pull back, the same digests. */
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLayout } from '@scratchpack/oci';
import { pull } from '@scratchpack/registry';
import { describeWithTools, type RunningRegistry, startRegistry } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { build, multi, registryPublisher } from '../src/index.ts';

describeWithTools(['docker-registry'], 'registryPublisher', () => {
  let dir: string;
  let registry: RunningRegistry;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'builder-publish-'));
    await mkdir(join(dir, 'ctx'));
    await writeFile(join(dir, 'ctx', 'prog'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY prog /\nCMD ["/prog"]\n');
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes the index, its tags and the referrers; a pull gives the same index digest', async () => {
    const result = await build({
      context: 'ctx',
      cwd: dir,
      platforms: [{ os: 'linux', architecture: 'amd64' }],
      tags: ['1.0', 'latest'],
      sourceDateEpoch: 0,
      attest: { sbom: true, provenance: false },
    });
    const target = `${registry.host}/me/prog`;
    const [published] = await multi(registryPublisher(target)).publish(result.index, {
      tags: ['1.0', 'latest'],
      referrers: result.referrers,
    });
    expect(published?.kind).toBe('registry');
    expect(published?.push?.indexDigest).toBe(result.indexDigest);
    expect(published?.push?.tags).toEqual(expect.arrayContaining(['1.0', 'latest']));
    const back = join(dir, 'back');
    await pull(`${target}:1.0`, back);
    const subject = await (await readLayout(back)).resolve('1.0');
    expect((await subject.digest()).toString()).toBe(result.indexDigest);
  });
});
