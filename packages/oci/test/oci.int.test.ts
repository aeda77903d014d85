import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  appendLayers,
  BlobStore,
  type Image,
  type ImageIndex,
  imageIndex,
  layerFromEntries,
  readLayout,
  scratch,
  validateLayout,
  withConfig,
  withPlatform,
  writeArchive,
  writeLayout,
} from '../src/index.ts';

const run = promisify(execFile);

describeWithTools(['skopeo', 'umoci'], 'oci layout and archive with real tools', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let idx: ImageIndex;
  let amd64: Image;

  beforeAll(async () => {
    ({ path: dir, cleanup } = await tempDir('oci-int-'));
    const images: Image[] = [];
    for (const [os, architecture] of [
      ['linux', 'amd64'],
      ['linux', 'arm64'],
    ] as const) {
      const layer = layerFromEntries([
        { type: 'file', path: 'hello', content: `#!hello ${architecture}\n`, mode: 0o755 },
        { type: 'file', path: 'etc/motd', content: 'scratchpack\n' },
        { type: 'symlink', path: 'bin', target: '/' },
      ]);
      let img = await appendLayers(scratch, { layer, history: { created_by: 'COPY hello /' } });
      img = await withConfig(img, { Cmd: ['/hello'], Env: ['PATH=/'] });
      images.push(await withPlatform(img, { os, architecture }));
    }
    amd64 = images[0]!;
    idx = imageIndex(images.map((image) => ({ image })));
    await writeLayout(join(dir, 'oci'), idx, { tags: ['latest'], imageName: 'localhost/hello' });
    await writeLayout(join(dir, 'oci'), amd64, { tags: ['amd64'] });
    await writeArchive(join(dir, 'oci'), join(dir, 'hello.oci.tar'), { imageName: 'localhost/hello' });
  });
  afterAll(() => cleanup());

  it('skopeo inspect --raw returns our exact index bytes', async () => {
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${join(dir, 'oci')}:latest`], {
      encoding: 'buffer',
    });
    expect(Buffer.from(stdout).equals(await idx.rawManifest())).toBe(true);
  });

  it('skopeo copy --all to another layout keeps every digest', async () => {
    await run('skopeo', ['copy', '--all', `oci:${join(dir, 'oci')}:latest`, `oci:${join(dir, 'copy')}:x`]);
    const copy = await readLayout(join(dir, 'copy'));
    expect((await copy.descriptor('x')).digest).toBe((await idx.digest()).toString());
    await validateLayout(join(dir, 'copy'));
  });

  it('skopeo copy reads our OCI archive', async () => {
    await run('skopeo', [
      'copy',
      `oci-archive:${join(dir, 'hello.oci.tar')}:latest`,
      `oci:${join(dir, 'from-archive')}:y`,
    ]);
    const { stdout } = await run('skopeo', ['inspect', '--config', `oci:${join(dir, 'from-archive')}:y`]);
    expect(JSON.parse(stdout).config.Cmd).toEqual(['/hello']);
  });

  it('the archive lists a deterministic layout plus manifest.json', async () => {
    const { stdout } = await run('tar', ['-tvf', join(dir, 'hello.oci.tar')]);
    const lines = stdout.trim().split('\n');
    expect(lines.every((l) => / 0\/0 .* 1970-01-01 00:00 /.test(l))).toBe(true);
    expect(lines.map((l) => l.split(/\s+/).pop())).toEqual(
      expect.arrayContaining(['blobs/', 'blobs/sha256/', 'index.json', 'manifest.json', 'oci-layout']),
    );
    const { stdout: mj } = await run('tar', ['-xOf', join(dir, 'hello.oci.tar'), 'manifest.json']);
    const m = JSON.parse(mj);
    expect(m).toHaveLength(1);
    expect(m[0].RepoTags).toEqual(['localhost/hello:amd64', 'localhost/hello:latest']);
    expect(m[0].Config).toBe(`blobs/sha256/${(await amd64.configDescriptor()).digest.slice(7)}`);
    // Re-writing gives identical bytes.
    const first = await readFile(join(dir, 'hello.oci.tar'));
    await writeArchive(join(dir, 'oci'), join(dir, 'hello.oci.tar'), { imageName: 'localhost/hello' });
    expect((await readFile(join(dir, 'hello.oci.tar'))).equals(first)).toBe(true);
  });

  it('umoci lists the tags and stats and unpacks a single-platform image', async () => {
    const { stdout: tags } = await run('umoci', ['ls', '--layout', join(dir, 'oci')]);
    expect(tags.trim().split('\n').sort()).toEqual(['amd64', 'latest']);
    const { stdout: stat } = await run('umoci', ['stat', '--json', '--image', `${join(dir, 'oci')}:amd64`]);
    expect(JSON.parse(stat).history).toHaveLength(1);
    await run('umoci', ['unpack', '--rootless', '--image', `${join(dir, 'oci')}:amd64`, join(dir, 'bundle')]);
    expect(await readFile(join(dir, 'bundle/rootfs/hello'), 'utf8')).toBe('#!hello amd64\n');
  });

  it('GNU tar lists our layer as expected', async () => {
    const layer = (await amd64.layers())[0]!;
    const blob = new BlobStore(join(dir, 'oci')).path(await layer.digest());
    const { stdout } = await run('tar', ['-tvzf', blob]);
    expect(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/\s+/g, ' ')),
    ).toEqual([
      'lrwxrwxrwx 0/0 0 1970-01-01 00:00 bin -> /',
      'drwxr-xr-x 0/0 0 1970-01-01 00:00 etc',
      '-rw-r--r-- 0/0 12 1970-01-01 00:00 etc/motd',
      '-rwxr-xr-x 0/0 14 1970-01-01 00:00 hello',
    ]);
    await writeFile(join(dir, 'layer.tar.gz'), await readFile(blob));
    await run('gzip', ['-t', join(dir, 'layer.tar.gz')]);
  });
});
