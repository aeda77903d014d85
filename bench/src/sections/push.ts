/**
 * Push: the multi-arch hello image (dist/oci) and a single-layer image of one big random file, to a loopback
 * docker-registry, with our client (`push` from @scratchpack/registry, in-process, as `scratchpack push` runs it)
 * and with `skopeo copy --all`, alternating run by run. Every push goes to a registry started empty for it (new
 * port, new storage), so every blob is uploaded: skopeo remembers where it saw a blob (its blob-info cache) and
 * would otherwise mount it from an earlier run's repository instead of uploading it. After each of our pushes the
 * same push is repeated: it must upload 0 blobs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalRegistry, startLocalRegistry } from '@scratchpack/local-registry';
import {
  appendLayers,
  emptyImage,
  isImageIndex,
  layerFromEntries,
  readLayout,
  withConfig,
  writeLayout,
} from '@scratchpack/oci';
import { push } from '@scratchpack/registry';
import { run, runBoth, timeRun } from '../exec.ts';
import { bytesShort, int, secondsRange, times } from '../format.ts';
import { REPO, tempDir } from '../repo.ts';
import type { SectionContext, SectionResult } from '../section.ts';
import { alternate, ratio, type Summary, secondsSince, summarize, timed } from '../stats.ts';
import { randomBytesFor } from '../tree.ts';

/** The `scratchpack` command, run as a user runs it (Node start-up included; the prebuilt bundle when current, else tsx). */
const CLI = join(REPO, 'apps', 'cli', 'bin', 'scratchpack.js');

const CONTENDERS = ['scratchpack', 'skopeo', 'cli'] as const;
type Contender = (typeof CONTENDERS)[number];

interface ImageCase {
  name: string;
  title: string;
  layout: string;
  bytes: number;
  blobs: number;
}

export interface PushCase {
  name: string;
  title: string;
  bytes: number;
  blobs: number;
  /** Referrers the CLI pushed with the image (its default). */
  referrers: number;
  /** HTTP requests of the CLI's first push and of its repeat (the last run's; the same every run). */
  requests: { first: number; repeat: number };
  /** HTTP requests skopeo sent for the same push (its `--debug` log, one untimed run). */
  skopeoRequests: number;
  seconds: Record<Contender, Summary>;
  /** CPU seconds the registry spent serving each timed push, per contender. */
  registryCpu: Record<Contender, Summary>;
  repeat: Summary;
  repeatUploaded: number[];
}

/** What the bench reads of `scratchpack push --json`. */
interface CliPush {
  uploaded: number;
  referrers: number;
  requests: number;
}

async function bigImage(dir: string, bytes: number): Promise<void> {
  const layer = layerFromEntries(
    [{ type: 'file', path: 'data.bin', mode: 0o644, content: randomBytesFor(7, 'push', bytes) }],
    { compressionLevel: 1 },
  );
  let image = await appendLayers(emptyImage({ platform: { os: 'linux', architecture: 'amd64' } }), { layer });
  image = await withConfig(image, { Cmd: ['/data.bin'] });
  await writeLayout(dir, image, { tags: ['latest'] });
}

async function describeLayout(dir: string): Promise<{ bytes: number; blobs: number }> {
  const subject = await (await readLayout(dir)).resolve('latest');
  const images = isImageIndex(subject) ? (await subject.images()).map((c) => c.image) : [subject];
  const blobs = new Map<string, number>();
  for (const image of images) {
    for (const l of await image.layers()) blobs.set((await l.digest()).toString(), await l.size());
    const c = await image.configDescriptor();
    blobs.set(c.digest, c.size);
  }
  return { bytes: [...blobs.values()].reduce((a, b) => a + b, 0), blobs: blobs.size };
}

/** What follows `skopeo copy` for the push of `layout`'s `latest` to `target`: the timed push and the counted one. */
function skopeoCopyArgs(layout: string, target: string): string[] {
  return ['--all', `oci:${layout}:latest`, `docker://${target}`, '--dest-tls-verify=false'];
}

/** The requests `skopeo copy --all` sends for this push: the request lines of its `--debug` log (an untimed run). */
async function skopeoRequests(layout: string, target: string): Promise<number> {
  const { stderr } = await runBoth('skopeo', ['--debug', 'copy', ...skopeoCopyArgs(layout, target)]);
  return stderr.split('\n').filter((l) => /msg="(GET|HEAD|PUT|POST|PATCH|DELETE) https?:\/\//.test(l)).length;
}

async function ourPush(layout: string, target: string) {
  const subject = await (await readLayout(layout)).resolve('latest');
  return push(subject, target, { credential: null });
}

export async function pushSection(ctx: SectionContext): Promise<SectionResult> {
  const hello = join(REPO, 'dist', 'oci');
  if (!existsSync(join(hello, 'index.json'))) {
    ctx.log('dist/oci is missing: running `pnpm build:images`');
    await run('pnpm', ['build:images'], { cwd: REPO });
  }
  const tmp = await tempDir('push');
  let registry: LocalRegistry | undefined;
  try {
    const big = join(tmp.path, 'big');
    ctx.log(`writing a single-layer image of ${ctx.sizeMb} MB random bytes`);
    await bigImage(big, ctx.sizeMb * 1e6);
    const cases: ImageCase[] = [];
    for (const [name, title, layout] of [
      ['hello', 'multi-arch hello (dist/oci)', hello],
      ['big', `single layer, ${ctx.sizeMb} MB`, big],
    ] as const) {
      cases.push({ name, title, layout, ...(await describeLayout(layout)) });
    }
    const out: PushCase[] = [];
    for (const c of cases) {
      let referrers = 0;
      const requests = { first: 0, repeat: 0 };
      const registryCpu: Record<Contender, number[]> = { scratchpack: [], skopeo: [], cli: [] };
      const repeat: number[] = [];
      const repeatUploaded: number[] = [];
      const seconds = await alternate(CONTENDERS, ctx.runs, async (who, i) => {
        await registry?.stop();
        registry = await startLocalRegistry();
        const repo = `${registry.host}/bench/${c.name}-${who}-${i}`;
        const cpuBefore = registry.cpuSeconds();
        const serving = () => registryCpu[who].push(registry!.cpuSeconds() - cpuBefore);
        let s: number;
        if (who === 'cli') {
          // The default: the SBOMs, provenance and signatures stored beside the image go with it (skopeo copies
          // the image only).
          const args = [CLI, 'push', `${c.layout}:latest`, `${repo}:latest`, '--json'];
          const start = performance.now();
          const out = await run(process.execPath, args);
          s = secondsSince(start);
          serving();
          const r = JSON.parse(out) as CliPush;
          referrers = r.referrers;
          if (r.uploaded < c.blobs)
            throw new Error(`${c.name}: the CLI uploaded ${r.uploaded} blobs, expected at least ${c.blobs}`);
          // Its repeat (not timed): nothing to upload, and the requests that takes.
          const again = JSON.parse(await run(process.execPath, args)) as CliPush;
          if (again.uploaded !== 0)
            throw new Error(
              `${c.name}: the CLI's repeat push uploaded ${again.uploaded} blobs; it must upload none`,
            );
          requests.first = r.requests;
          requests.repeat = again.requests;
        } else if (who === 'skopeo') {
          s = await timeRun('skopeo', ['copy', '--quiet', ...skopeoCopyArgs(c.layout, `${repo}:latest`)]);
          serving();
        } else {
          const first = await timed(() => ourPush(c.layout, `${repo}:latest`));
          s = first.seconds;
          serving();
          if (first.value.uploaded !== c.blobs)
            throw new Error(
              `${c.name}: first push uploaded ${first.value.uploaded} blobs, expected ${c.blobs}`,
            );
          const again = await timed(() => ourPush(c.layout, `${repo}:latest`));
          repeat.push(again.seconds);
          repeatUploaded.push(again.value.uploaded);
          if (again.value.uploaded !== 0 || again.value.skipped !== c.blobs) {
            throw new Error(
              `${c.name}: the repeat push uploaded ${again.value.uploaded} blobs (skipped ${again.value.skipped} of ${c.blobs}); it must upload none`,
            );
          }
        }
        ctx.log(`  run ${i + 1} ${c.name.padEnd(6)} ${who.padEnd(12)} ${s.toFixed(3)} s`);
        return s;
      });
      await registry?.stop();
      registry = await startLocalRegistry();
      const skopeo = await skopeoRequests(c.layout, `${registry.host}/bench/${c.name}-requests:latest`);
      out.push({
        name: c.name,
        title: c.title,
        bytes: c.bytes,
        blobs: c.blobs,
        referrers,
        requests,
        skopeoRequests: skopeo,
        seconds,
        registryCpu: {
          scratchpack: summarize(registryCpu.scratchpack),
          skopeo: summarize(registryCpu.skopeo),
          cli: summarize(registryCpu.cli),
        },
        repeat: summarize(repeat),
        repeatUploaded,
      });
    }
    return pushResult(out);
  } finally {
    await registry?.stop();
    await tmp.cleanup();
  }
}

/** Tables and targets (pure). */
export function pushResult(cases: PushCase[]): SectionResult {
  return {
    name: 'push',
    title: '3. Push to a loopback docker-registry',
    tables: [
      {
        title: 'push (a fresh, empty registry for every push)',
        header: [
          'image',
          'blobs',
          'bytes',
          'scratchpack (library)',
          'skopeo copy --all',
          'ours / skopeo',
          '`scratchpack push` (CLI process, with its referrers)',
          'repeat push (0 uploaded)',
          'CLI requests (first / repeat)',
          'skopeo requests',
          'registry CPU: CLI / skopeo',
        ],
        rows: cases.map((c) => [
          c.title,
          int(c.blobs),
          bytesShort(c.bytes),
          secondsRange(c.seconds.scratchpack),
          secondsRange(c.seconds.skopeo),
          times(ratio(c.seconds.scratchpack, c.seconds.skopeo)),
          `${secondsRange(c.seconds.cli)} (${times(ratio(c.seconds.cli, c.seconds.skopeo))}, ${int(c.referrers)} referrers)`,
          secondsRange(c.repeat),
          `${int(c.requests.first)} / ${int(c.requests.repeat)}`,
          int(c.skopeoRequests),
          `${secondsRange(c.registryCpu.cli)} / ${secondsRange(c.registryCpu.skopeo)}`,
        ]),
        notes: [
          'The library figure is the call `push(readLayout(dir).resolve("latest"), ref)` in this process, the client itself; skopeo is a process: `skopeo copy --all oci:<dir>:latest docker://<registry>/<repo>:latest --dest-tls-verify=false`, its start-up included (a few tens of ms for a Go binary). The CLI figure is `node apps/cli/bin/scratchpack.js push <dir>:latest <ref> --json` — the default, which also pushes the SBOMs, provenance and signatures stored beside the image (their blobs with the image blobs, each manifest as soon as what it names is there, each subject\'s fallback tag once with all its referrers) — Node start-up included (the prebuilt CLI bundle starts in about 0.1 s; from sources through tsx, about 0.4 s).',
          'CLI requests: the HTTP requests of the CLI push (its `requests` in `--json`) and of the same push repeated right after (not timed; it must upload nothing). Into a repository the registry does not know yet, small blobs are uploaded without a HEAD first and fallback tags are written without being read; a repeat asks for each manifest (HEAD: one that is there proves its blobs are, so no blob is asked for) and reads each fallback tag once (one GET).',
          "The registry is Debian's docker-registry (distribution) with filesystem storage in a temp dir on the same machine, so it competes for the same cores. Each push gets a freshly started, empty registry.",
          "Registry CPU: the user + system time the registry process spent serving each timed push (`/proc/PID/stat`), median (min–max). skopeo's requests are the request lines of `skopeo --debug copy --all` of the same image into another empty registry (untimed). Where the CLI pushes referrers it sends more requests than skopeo (each blob is a POST and a PUT: distribution 2.8 takes no upload in a single request), and on a 2-core machine the registry's CPU for them is what the push waits for: see the registry CPU beside the times.",
        ],
      },
    ],
    targets: [
      ...cases.map((c) => {
        const r = ratio(c.seconds.scratchpack, c.seconds.skopeo);
        return { name: `push ${c.name} vs skopeo`, goal: '≤ 1.0×', value: times(r), met: r <= 1 };
      }),
      ...cases.map((c) => {
        const r = ratio(c.seconds.cli, c.seconds.skopeo);
        return {
          name: `\`scratchpack push\` ${c.name} (default, ${c.referrers} referrers) vs skopeo copy --all (none)`,
          goal: '≤ 1.0×',
          value: times(r),
          met: r <= 1,
        };
      }),
      {
        name: 'repeat push uploads 0 blobs',
        goal: '0 every time',
        value: cases.map((c) => `${c.name}: ${c.repeatUploaded.join(',')}`).join('; '),
        met: cases.every((c) => c.repeatUploaded.every((n) => n === 0)),
      },
    ],
    data: { cases },
  };
}
