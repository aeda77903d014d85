/**
 * `import` keeps the tar's bytes: the layer's diff_id is `sha256sum` of the tar, the diff_id `podman import` gives
 * the same tar; `--normalize` rewrites it instead, byte for byte the same from two folders whose tars differ
 * (order of entries, times after SOURCE_DATE_EPOCH).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from './helpers.ts';

describeWithTools(['tar', 'sha256sum', 'podman'], 'import keeps the tar, or normalises it on request', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  const tars: string[] = [];
  const sha256sum = (file: string) =>
    `sha256:${execFileSync('sha256sum', [file], { encoding: 'utf8' }).slice(0, 64)}`;

  /** The same files in `dir`, created in `order`, every time `when` (seconds) but etc/old at 500. */
  async function folder(dir: string, order: string[], when: number) {
    await mkdir(join(dir, 'etc'), { recursive: true });
    for (const name of order) await writeFile(join(dir, 'etc', name), `${name}\n`);
    for (const name of order) await utimes(join(dir, 'etc', name), when, when);
    await writeFile(join(dir, 'etc', 'old'), 'old\n');
    await utimes(join(dir, 'etc', 'old'), 500, 500);
    await utimes(join(dir, 'etc'), when, when);
    await utimes(dir, when, when);
  }

  beforeAll(async () => {
    work = await tempDir('import-keep-');
    const names = ['alpha', 'beta', 'gamma', 'delta'];
    await folder(join(work.path, 'a'), names, 1_700_000_000);
    await folder(join(work.path, 'b'), [...names].reverse(), 1_700_000_100);
    for (const f of ['a', 'b']) {
      const tar = join(work.path, `${f}.tar`);
      // GNU tar as users run it: `./` names, the root entry, directory order, real times, 10 KiB records.
      execFileSync('tar', ['-C', join(work.path, f), '--numeric-owner', '-cf', tar, '.']);
      tars.push(tar);
    }
  });
  afterAll(() => work?.cleanup());

  it("by default the layer is the tar's bytes: diff_id = sha256sum of the tar, and the command says so", async () => {
    const layout = join(work.path, 'kept');
    const r = await cli(['import', tars[0]!, `${layout}:a`, '--platform', 'linux/amd64', '--json']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ tar: 'kept', diffId: sha256sum(tars[0]!) });
    const human = await cli(['import', tars[0]!, `${layout}:a`, '--platform', 'linux/amd64']);
    expect(human.stdout).toContain(
      `layer tar kept as given (docker and podman import give the same diff_id): diff_id ${out.diffId}`,
    );
    // The two folders' tars differ (entry order, times), and so do their kept layers.
    const b = JSON.parse(
      (await cli(['import', tars[1]!, `${layout}:b`, '--platform', 'linux/amd64', '--json'])).stdout,
    );
    expect(b.diffId).toBe(sha256sum(tars[1]!));
    expect(b.diffId).not.toBe(out.diffId);
  });

  it('podman import of the same tar gives the same diff_id', async () => {
    const storage = [
      '--root',
      join(work.path, 'root'),
      '--runroot',
      join(work.path, 'run'),
      '--storage-driver',
      'vfs',
    ];
    execFileSync('podman', [...storage, 'import', tars[0]!, 'localhost/keep-test:latest'], {
      stdio: 'pipe',
      timeout: 120_000,
    });
    const layers = JSON.parse(
      execFileSync(
        'podman',
        [...storage, 'image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'localhost/keep-test:latest'],
        {
          encoding: 'utf8',
        },
      ),
    );
    const ours = JSON.parse(
      (
        await cli([
          'import',
          tars[0]!,
          `${join(work.path, 'podman-cmp')}:a`,
          '--platform',
          'linux/amd64',
          '--json',
        ])
      ).stdout,
    );
    expect(layers).toEqual([ours.diffId]);
  });

  it('--normalize: the same bytes from both folders (times clamped to SOURCE_DATE_EPOCH, older ones kept)', async () => {
    const layout = join(work.path, 'normalized');
    const env = { SOURCE_DATE_EPOCH: '1600000000' };
    const [a, b] = await Promise.all(
      tars.map(async (tar, i) => {
        const r = await cli(
          [
            'import',
            tar,
            `${layout}-${i}:n`,
            '--platform',
            'linux/amd64',
            '--normalize',
            '-m',
            'rootfs',
            '--json',
          ],
          { env },
        );
        expect([r.status, r.stderr]).toEqual([0, '']);
        return JSON.parse(r.stdout);
      }),
    );
    expect(a).toMatchObject({ tar: 'normalized' });
    expect({ index: b.index, layer: b.layer, diffId: b.diffId }).toEqual({
      index: a.index,
      layer: a.layer,
      diffId: a.diffId,
    });
    expect(a.diffId).not.toBe(sha256sum(tars[0]!));
    // The normalised tar: sorted, no `./`, times after the epoch clamped to it, etc/old's 500 kept.
    const listing = execFileSync(
      'tar',
      ['--utc', '--full-time', '-tvzf', join(`${layout}-0`, 'blobs', 'sha256', a.layer.slice(7))],
      {
        encoding: 'utf8',
      },
    );
    const rows = listing
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    expect(rows.map((r) => r[5])).toEqual([
      'etc',
      'etc/alpha',
      'etc/beta',
      'etc/delta',
      'etc/gamma',
      'etc/old',
    ]);
    expect(rows.map((r) => `${r[3]} ${r[4]}`)).toEqual([
      ...Array(5).fill('2020-09-13 12:26:40'),
      '1970-01-01 00:08:20',
    ]);
    const human = await cli(
      ['import', tars[0]!, `${layout}-0:n`, '--platform', 'linux/amd64', '--normalize'],
      { env },
    );
    expect(human.stdout).toMatch(
      /layer tar normalised \(sorted, times clamped to SOURCE_DATE_EPOCH\): diff_id sha256:/,
    );
  });
});
