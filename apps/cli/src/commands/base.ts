import {
  type BasePackage,
  baseAttestations,
  defaultLock,
  formatLock,
  lockDiff,
  readLock,
  refreshLock,
  staticBase,
} from '@scratchpack/base';
import {
  type Family,
  formatPlatform,
  hostPlatform,
  parseSourceDateEpoch,
  writeFileAtomic,
} from '@scratchpack/oci';
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.ts';
import { runSignal } from '../interrupt.ts';
import { bytes, table } from '../output.ts';
import { checkOutputPath } from '../output-path.ts';
import { parseOutput } from '../output-spec.ts';
import { outputsPublisher, storeNamesFor, storePublisher } from '../publish-targets.ts';
import { clientOptions } from '../registry-options.ts';
import { say, sayJson, warn } from '../safe-text.ts';
import { TOOL } from '../tool.ts';
import { platformsOption } from './build.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

interface StaticFlags {
  platform: string[];
  tag: string[];
  output: string[];
  nonroot?: boolean;
  format: string;
  lock?: string;
  mirror: string[];
  json?: boolean;
  sbom: boolean;
  provenance: boolean;
  imageName?: string;
}

async function imageSize(image: {
  manifest(): Promise<{ config: { size: number }; layers: { size: number }[] }>;
  size(): Promise<number>;
}) {
  const m = await image.manifest();
  return (await image.size()) + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
}

async function staticAction(opts: StaticFlags): Promise<void> {
  if (opts.format !== 'oci' && opts.format !== 'docker') {
    throw new UsageError(`--format ${opts.format}: expected oci or docker`);
  }
  const storeNames = opts.output.length === 0 ? storeNamesFor(opts.tag, 'static') : undefined;
  const outputs = opts.output.map(parseOutput);
  for (const o of outputs) if (o.kind !== 'registry') await checkOutputPath(o.dest, o.kind, '--output');
  const sourceDateEpoch = parseSourceDateEpoch(process.env.SOURCE_DATE_EPOCH);
  const signal = runSignal();
  const base = await staticBase({
    platforms: platformsOption(opts.platform),
    ...(opts.lock ? { lock: await readLock(opts.lock) } : {}),
    nonroot: opts.nonroot === true,
    sourceDateEpoch,
    family: opts.format as Family,
    mirrors: opts.mirror,
    onFetch: (p, url) => warn(`fetched ${p.name} ${p.version} from ${url}\n`),
    signal,
  });
  const tags = opts.tag.length && !storeNames ? opts.tag : ['latest'];
  const referrers = await baseAttestations(base, {
    tool: TOOL,
    tags,
    format: opts.format,
    sourceDateEpoch,
    sbom: opts.sbom,
    provenance: opts.provenance,
    ...(opts.imageName ? { imageName: opts.imageName } : {}),
  });
  const client = outputs.some((o) => o.kind === 'registry') ? await clientOptions({}) : {};
  await (storeNames ? storePublisher(storeNames) : outputsPublisher(outputs, client)).publish(base.index, {
    tags,
    referrers,
    sourceDateEpoch,
    ...(opts.imageName ? { imageName: opts.imageName } : {}),
    signal,
  });
  const images = await Promise.all(
    base.images.map(async (i) => ({
      platform: formatPlatform(i.platform),
      digest: i.digest,
      size: await imageSize(i.image),
    })),
  );
  if (opts.json) {
    sayJson({
      index: base.indexDigest,
      layer: (await base.layer.digest()).toString(),
      outputs,
      ...(storeNames ? { stored: storeNames } : {}),
      images,
      packages: base.packages,
    });
    return;
  }
  say(
    table(
      images.map((i) => [i.platform, i.digest, bytes(i.size)]),
      ['PLATFORM', 'MANIFEST DIGEST', 'COMPRESSED'],
    ),
  );
  say(
    `\nlayer ${(await base.layer.digest()).toString()} (${bytes(await base.layer.size())}, shared by every platform)`,
  );
  say(`packages: ${base.packages.map((p: BasePackage) => `${p.name} ${p.version}`).join(', ')}`);
  say(`index ${base.indexDigest}`);
  for (const out of outputs) say(`wrote ${out.kind} ${out.dest}`);
  for (const name of storeNames ?? []) say(`stored ${name} in the local store`);
}

async function lockAction(opts: { lock?: string; write?: string; mirror: string[] }): Promise<void> {
  const before = opts.lock ? await readLock(opts.lock) : defaultLock;
  const after = await refreshLock(before, { mirrors: opts.mirror, signal: runSignal() });
  const diff = lockDiff(before, after);
  say(diff.length ? diff.join('\n') : 'the lock is up to date');
  if (opts.write) {
    await writeFileAtomic(opts.write, formatLock(after));
    say(`wrote ${opts.write}`);
  }
}

export function baseCommand(program: Command): void {
  const base = program
    .command('base')
    .description('base images from pinned Debian packages (CA certificates, time zones, a nonroot user)');
  base
    .command('static')
    .description(
      'build the static base (like distroless/static) for every platform asked: one shared layer, reproducible',
    )
    .addOption(
      new Option(
        '--platform <list>',
        'target platforms, comma-separated or repeated (arm64 = linux/arm64); "all" = every platform',
      )
        .argParser(collect)
        .default([], `this host, ${formatPlatform(hostPlatform({ os: 'linux' }))}`),
    )
    .option(
      '-t, --tag <tag>',
      'without --output, a name in the local store; else a tag in each output (repeatable)',
      collect,
      [],
    )
    .option(
      '-o, --output <spec>',
      'a layout directory or an archive (*.tar) (repeatable; default: the local store)',
      collect,
      [],
    )
    .option('--nonroot', 'run as the nonroot user (User 65532, WorkingDir /home/nonroot)')
    .option('--format <family>', 'media types: oci, or docker', 'oci')
    .option('--lock <file>', 'a lock file of Debian packages (default: the one scratchpack ships)')
    .option(
      '--mirror <url>',
      'a Debian mirror base URL (repeatable; default: SCRATCHPACK_DEBIAN_MIRROR, else the apt sources)',
      collect,
      [],
    )
    .option('--image-name <repo>', 'repository name recorded for docker load / containerd and in the SBOMs')
    .option(
      '--no-sbom',
      'do not write SPDX and CycloneDX SBOMs (the Debian packages as pkg:deb) beside each image',
    )
    .option('--no-provenance', 'do not write a SLSA provenance statement beside each image')
    .option('--json', 'print the result as JSON')
    .option('--verbose', 'print stack traces with errors')
    .action(staticAction);
  base
    .command('lock')
    .description("refresh the lock from the mirror's Packages indexes and show what changed")
    .option('--lock <file>', 'the lock to refresh (default: the one scratchpack ships)')
    .option('--write <file>', 'write the refreshed lock to this file')
    .option('--mirror <url>', 'a Debian mirror base URL (repeatable; default: the apt sources)', collect, [])
    .option('--verbose', 'print stack traces with errors')
    .action(lockAction);
}
