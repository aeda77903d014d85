/**
 * Run: `scratchpack run --rm IMAGE true` of a Debian bookworm minbase image (the cached mmdebstrap tar the
 * integration tests make, imported once) against `podman run --rm` of the same image (its OCI layout), side by
 * side: the first run of a new image (ours: an empty rootfs cache, the image unpacked; podman: an empty storage
 * root, the image copied into it) and then repeated runs (ours: the cached image under an overlay; podman: its
 * stored image), contenders alternating run by run. The figure is the wall time of the whole command.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, timeRun, versionOf } from '../exec.ts';
import { secondsRange, times } from '../format.ts';
import { ensureCliBundle } from '../peak.ts';
import { REPO } from '../repo.ts';
import type { SectionContext, SectionResult } from '../section.ts';
import { alternate, ratio, type Summary } from '../stats.ts';
import { cachedRootfs } from './import.ts';

const CLI = join(REPO, 'apps', 'cli', 'bin', 'scratchpack.js');
const ALL = ['ours-first', 'podman-first', 'ours', 'podman'] as const;
type Contender = (typeof ALL)[number];

const LABELS: Record<Contender, string> = {
  'ours-first': '`scratchpack run --rm IMAGE true`, first run (image unpacked into an empty cache)',
  'podman-first': '`podman run --rm oci:LAYOUT true`, first run (an empty storage root: the image copied in)',
  ours: '`scratchpack run --rm IMAGE true` (cached image under an overlay)',
  podman: '`podman run --rm IMAGE true` (stored image)',
};

export async function runSection(ctx: SectionContext): Promise<SectionResult> {
  const tar = await cachedRootfs();
  if (!tar)
    throw new Error(
      'no cached Debian minbase rootfs: run the Debian integration test once (CI=true npx vitest run --project integration apps/cli/test/debian.int.test.ts)',
    );
  const havePodman = (await versionOf('podman')) !== 'missing';
  await ensureCliBundle(ctx.log);
  // Lowercase (podman names an oci: image after its path) and reachable by nobody (as root, containers run as
  // nobody, who must reach the rootfs cache in here).
  const hex = randomBytes(4).toString('hex');
  const path = join(tmpdir(), `scratchpack-bench-run-${hex}`);
  // podman refuses a runroot path longer than 50 characters.
  const runroots = join(tmpdir(), `spb-${hex}`);
  await mkdir(path, { mode: 0o755 });
  await chmod(path, 0o755);
  const tmp = {
    path,
    cleanup: async () => {
      await rm(path, { recursive: true, force: true });
      await rm(runroots, { recursive: true, force: true });
    },
  };
  const podmanRoot = (i: number | 'warm') => [
    '--root',
    join(tmp.path, `podman-${i}`, 'root'),
    '--runroot',
    join(runroots, String(i)),
  ];
  try {
    const layout = join(tmp.path, 'layout');
    await run(process.execPath, [CLI, 'import', tar, `${layout}:bench`, '--platform', 'linux/amd64']);
    const cache = (i: number | 'warm') => ({
      ...process.env,
      SCRATCHPACK_ROOTFS_CACHE: join(tmp.path, `cache-${i}`),
    });
    const ours = (env: NodeJS.ProcessEnv) =>
      timeRun(process.execPath, [CLI, 'run', '--rm', `${layout}:bench`, 'true'], { env });
    // podman's overlay storage keeps its root mounted: reset it (unmount and delete) before removing the folder.
    const reset = (i: number | 'warm') =>
      run('podman', [...podmanRoot(i), 'system', 'reset', '--force']).catch(() => '');
    // As the Debian integration test runs podman here: runc, cgroupfs, explicit limits (this machine's defaults
    // are refused inside its container).
    const podmanRun = [
      'run',
      '--rm',
      '--runtime',
      'runc',
      '--cgroup-manager=cgroupfs',
      '--network',
      'none',
    ].concat(['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1024:1024']);
    let storedId = '';
    const podman = (i: number | 'warm') =>
      timeRun('podman', [
        ...podmanRoot(i),
        ...podmanRun,
        i === 'warm' ? storedId : `oci:${layout}:bench`,
        'true',
      ]);
    // Warm both first: one run each, not measured.
    await ours(cache('warm'));
    if (havePodman) {
      storedId = (await run('podman', [...podmanRoot('warm'), 'pull', '-q', `oci:${layout}:bench`])).trim();
      await podman('warm');
    }
    const contenders = ALL.filter((c) => havePodman || !c.startsWith('podman'));
    const seconds = await alternate(contenders, ctx.runs, async (c, i) => {
      let s: number;
      if (c === 'ours-first') {
        s = await ours(cache(i));
        await rm(join(tmp.path, `cache-${i}`), { recursive: true, force: true });
      } else if (c === 'podman-first') {
        await mkdir(join(tmp.path, `podman-${i}`));
        s = await podman(i);
        await reset(i);
        await rm(join(tmp.path, `podman-${i}`), { recursive: true, force: true });
      } else if (c === 'ours') s = await ours(cache('warm'));
      else s = await podman('warm');
      ctx.log(`  run ${i + 1} ${c.padEnd(13)} ${s.toFixed(2)} s`);
      return s;
    });
    return runResult(tar, contenders, seconds);
  } finally {
    if (havePodman)
      await run('podman', [...podmanRoot('warm'), 'system', 'reset', '--force']).catch(() => '');
    await tmp.cleanup();
  }
}

/** Tables and targets from the measurements (pure). */
export function runResult(
  tar: string,
  contenders: readonly Contender[],
  t: Partial<Record<Contender, Summary>>,
): SectionResult {
  const vs = (a: Contender, b: Contender) => (t[a] && t[b] ? ratio(t[a]!, t[b]!) : undefined);
  const warm = vs('ours', 'podman');
  const first = vs('ours-first', 'podman-first');
  return {
    name: 'run',
    title: '8. Starting a container',
    tables: [
      {
        title: `run --rm IMAGE true: Debian bookworm minbase (${tar.split('/').pop()}, imported once)`,
        header: ['command', 'time (median, min–max)', 'vs podman'],
        rows: contenders.map((c) => {
          const other: Contender = c.endsWith('-first') ? 'podman-first' : 'podman';
          const r = vs(c, other);
          return [LABELS[c], secondsRange(t[c]!), r === undefined ? '—' : times(r)];
        }),
        notes: [
          'Wall time of the whole command as users run it (Node start-up included for ours; podman with its default storage driver in a storage root of its own, `--runtime runc --cgroup-manager=cgroupfs` and explicit `--ulimit`s as the integration test runs it here).',
          'Ours: each layer is unpacked once into a cache entry keyed by its diff_id (shared by images); each container is an overlay of its image’s entries with a private upper directory (kernel overlayfs in the container’s user namespace), and --rm removes only the upper. The first run unpacks the image.',
        ],
      },
    ],
    targets: [
      ...(warm === undefined
        ? []
        : [
            {
              name: 'run --rm (cached image) vs podman run --rm',
              goal: '≤ 1.0×',
              value: times(warm),
              met: warm <= 1,
            },
          ]),
      ...(first === undefined
        ? []
        : [
            {
              name: 'first run of a new image vs podman’s first run',
              goal: '≤ 1.0×',
              value: times(first),
              met: first <= 1,
              stretch: true,
            },
          ]),
    ],
    data: { input: tar, seconds: t },
  };
}
