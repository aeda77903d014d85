/**
 * The provenance of an import is complete and reproducible: every `--change` and shaping option is in
 * `externalParameters`, the tarball is a `file:///` dependency under the stated root (the working directory),
 * and the same import run in two folders writes the same statement, byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '@scratchpack/oci';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from './helpers.ts';

describeWithTools(['tar'], 'the provenance of an import', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    work = await tempDir('import-provenance-');
    await mkdir(join(work.path, 'rootfs', 'etc'), { recursive: true });
    await writeFile(join(work.path, 'rootfs', 'etc', 'note'), 'hi\n');
    execFileSync('tar', ['-C', join(work.path, 'rootfs'), '-cf', join(work.path, 'rootfs.tar'), '.']);
  });
  afterAll(() => work?.cleanup());

  /** Import rootfs.tar (copied into `dir`, named relative to it) and return the provenance statement's bytes. */
  async function provenanceIn(dir: string): Promise<Buffer> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'rootfs.tar'), await readFile(join(work.path, 'rootfs.tar')));
    // biome-ignore format: one flag per pair reads better
    const r = await cli(['import', 'rootfs.tar', './out:x', '--platform', 'linux/amd64',
      '--change', 'CMD ["/bin/sh"]', '--change', 'ENV A=1', '--compression-level', '9',
      '-m', 'my rootfs', '--normalize'], { cwd: dir });
    expect([r.status, r.stderr]).toEqual([0, '']);
    const layout = join(dir, 'out');
    const blob = (d: string) => readFile(join(layout, 'blobs', 'sha256', d.slice(7)));
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    const entry = index.manifests.find(
      (m: { artifactType?: string }) => m.artifactType === 'application/vnd.in-toto+json',
    );
    const manifest = JSON.parse((await blob(entry.digest)).toString());
    return blob(manifest.layers[0].digest);
  }

  it('names every --change and option, the tarball as file:///rootfs.tar; the same bytes in another folder', async () => {
    const first = await provenanceIn(join(work.path, 'a'));
    const second = await provenanceIn(join(work.path, 'elsewhere', 'deeper'));
    expect(second.equals(first)).toBe(true);
    const bd = JSON.parse(first.toString()).predicate.buildDefinition;
    expect(bd.externalParameters).toMatchObject({
      platforms: ['linux/amd64'],
      changes: ['CMD ["/bin/sh"]', 'ENV A=1'],
      options: { compressionLevel: 9, message: 'my rootfs', tar: 'normalized' },
      imports: ['file:///rootfs.tar'],
    });
    expect(bd.resolvedDependencies).toEqual([
      {
        uri: 'file:///rootfs.tar',
        name: 'rootfs.tar',
        digest: { sha256: sha256(await readFile(join(work.path, 'rootfs.tar'))).hex },
        annotations: { root: 'own-directory' },
      },
    ]);
  });
});
