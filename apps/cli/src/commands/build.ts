import {
  type BuildResult,
  build,
  matrixPlatforms,
  ParentResolver,
  type Published,
  stageProgram,
} from '@scratchpack/builder';
import {
  type Family,
  formatPlatform,
  hostPlatform,
  type Platform,
  parseSourceDateEpoch,
} from '@scratchpack/oci';
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.ts';
import { localParents } from '../image-ref.ts';
import { runSignal } from '../interrupt.ts';
import { bytes, table } from '../output.ts';
import { checkOutputPath } from '../output-path.ts';
import { COMPRESSION_LEVEL_HELP, parseCompressionLevel, parseOutput, parsePairs } from '../output-spec.ts';
import { packProgress } from '../progress.ts';
import { outputsPublisher, storeNamesFor, storePublisher } from '../publish-targets.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { say, sayJson, warn } from '../safe-text.ts';
import { taskProgress } from '../task-progress.ts';
import { TOOL } from '../tool.ts';
import { warnOnce } from '../warnings.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

/** Why a compile is slow: shown for one that runs long (the first for a target builds musl libc). */
export const ZIG_SLOW_NOTE =
  "zig builds musl libc the first time it compiles for a target; it is cached then, in zig's global cache";

/** `--platform` values: comma-separated and repeatable; `all` = every platform zig can build; none = this host. */
export function platformsOption(values: string[]): Platform[] {
  return matrixPlatforms(
    values.some((v) => v.trim()) ? values : [formatPlatform(hostPlatform({ os: 'linux' }))],
  );
}

export function buildCommand(program: Command): void {
  const cmd = program
    .command('build')
    .description('build a multi-arch FROM-scratch image from a Dockerfile, without a daemon')
    .argument(
      '[context]',
      'build context directory (default .); placeholders {label} {os} {arch} {variant} give each platform its own (e.g. dist/{label})',
    )
    .option('-f, --file <path>', 'the Dockerfile (default: <context>/Dockerfile)')
    .addOption(
      new Option(
        '--platform <list>',
        'target platforms, comma-separated or repeated (linux/arm64, or as docker: arm64, arm/v6, 386); "all" = every zig platform',
      )
        .argParser(collect)
        .default([], `this host, ${formatPlatform(hostPlatform({ os: 'linux' }))}`),
    )
    .option(
      '-t, --tag <tag>',
      'tag to point at the index in each output layout; without --output, a name in the local store (repeatable)',
      collect,
      [],
    )
    .option(
      '-o, --output <spec>',
      'a layout directory, an archive (*.tar), a registry (HOST/REPO:TAG, docker://REF, type=registry,name=REF: pushed), or type=oci,dest=… / type=oci-layout,dest=… (repeatable; default: the local store)',
      collect,
      [],
    )
    .option('--push', 'push the image to each -t name (as docker buildx build --push)')
    .option('--build-arg <KEY=VALUE>', 'set a build-time ARG (repeatable)', collect, [])
    .option('--label <KEY=VALUE>', 'add a config label (repeatable)', collect, [])
    .option(
      '--annotation <KEY=VALUE>',
      'add an annotation to the index and each manifest (repeatable)',
      collect,
      [],
    )
    .option(
      '--format <family>',
      'media types: oci, or docker (Docker v2 list + manifests for old clients)',
      'oci',
    )
    .option(
      '--image-name <repo>',
      'repository name recorded for docker load / containerd (e.g. ghcr.io/me/hello)',
    )
    .option(
      '--platform-tags',
      'layout outputs also get TAG-OS-ARCH[-VARIANT] per platform (latest-linux-arm64-v8), for tools that cannot pick one from an index (umoci)',
    )
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress: neither the bars and lines on a terminal nor the lines in logs')
    .option(
      '--c-source <file>',
      'compile this C/C++ source for each platform with zig (repeatable)',
      collect,
      [],
    )
    .option(
      '--cflag <flag>',
      'extra compiler flag for --c-source, after the default ones; {os} {arch} {variant} {label} {platform} are expanded per platform (repeatable)',
      collect,
      [],
    )
    .option(
      '--binary <platform=path>',
      'a prebuilt static binary for one platform (repeatable; the platforms come from these)',
      collect,
      [],
    )
    .option('--name <name>', 'file name of the program in the image (default: from the source or binary)')
    .option('--compression-level <0-9>', COMPRESSION_LEVEL_HELP)
    .option(
      '--base <image>',
      'with --c-source/--binary: the image the program goes on top of, e.g. one made by `base static` (default: scratch)',
    )
    .option(
      '--allow-foreign-binaries',
      'let programs (ELF files) built for another platform into an image; by default the build is refused, naming them',
    )
    .option('--pull', 'ask the registry for parent image tags again instead of using the cache')
    .option('--no-sbom', 'do not write SPDX and CycloneDX SBOMs beside each image')
    .option('--no-provenance', 'do not write a SLSA provenance statement beside each image');
  addRegistryFlags(cmd).action(
    async (
      contextArg: string | undefined,
      opts: RegistryFlags & {
        cSource: string[];
        cflag: string[];
        binary: string[];
        name?: string;
        base?: string;
        pull?: boolean;
        allowForeignBinaries?: boolean;
        compressionLevel?: string;
        sbom: boolean;
        provenance: boolean;
        file?: string;
        platform: string[];
        tag: string[];
        output: string[];
        push?: boolean;
        buildArg: string[];
        label: string[];
        annotation: string[];
        format: string;
        imageName?: string;
        platformTags?: boolean;
        json?: boolean;
        quiet?: boolean;
      },
    ) => {
      if (opts.format !== 'oci' && opts.format !== 'docker') {
        throw new UsageError(`--format ${opts.format}: expected oci or docker`);
      }
      // Without --output the image goes to the local store, under the -t names (as docker build does).
      const storeNames = opts.output.length === 0 && !opts.push ? storeNamesFor(opts.tag) : undefined;
      const sourceDateEpoch = parseSourceDateEpoch(process.env.SOURCE_DATE_EPOCH);
      const compressionLevel = parseCompressionLevel(opts.compressionLevel);
      if (opts.base !== undefined && !opts.cSource.length && !opts.binary.length) {
        throw new UsageError(
          '--base goes with --c-source or --binary',
          'in a Dockerfile, write FROM NAME instead',
        );
      }
      if (opts.binary.length && opts.platform.length) {
        throw new UsageError('--binary gives the platforms; leave out --platform');
      }
      const outputs = opts.output.map(parseOutput);
      // --push: every -t name goes to its registry (docker buildx build --push).
      if (opts.push) {
        if (opts.tag.length === 0)
          throw new UsageError('--push needs a name to push to', 'e.g. -t 127.0.0.1:5000/me/app:1 --push');
        for (const t of opts.tag) outputs.push({ kind: 'registry', dest: t });
      }
      for (const o of outputs) if (o.kind !== 'registry') await checkOutputPath(o.dest, o.kind, '--output');
      const compiling = taskProgress('compiling', 'compiled', {
        quiet: opts.quiet === true,
        slowNote: ZIG_SLOW_NOTE,
      });
      const program =
        opts.cSource.length || opts.binary.length
          ? await stageProgram({
              cSources: opts.cSource,
              cflags: opts.cflag,
              binaries: opts.binary,
              platforms: platformsOption(opts.platform),
              ...(opts.name ? { name: opts.name } : {}),
              ...(opts.base !== undefined ? { base: opts.base } : {}),
              ...(contextArg ? { context: contextArg } : {}),
              ...(opts.file ? { file: opts.file } : {}),
              onCompile: (p, event) => compiling[event](formatPlatform(p)),
              signal: runSignal(),
            }).finally(() => compiling.stop())
          : undefined;
      const locals = localParents();
      // Parents pulled from a registry: a live line each on a terminal, one line each when done in a log.
      const tty = process.stderr.isTTY === true;
      const pulling = taskProgress('pulling', 'pulled', { quiet: opts.quiet === true || !tty });
      const parents = new ParentResolver({
        resolveLocal: locals.resolve,
        pull: opts.pull === true,
        client: await clientOptions(opts),
        onPullStart: (ref, platform) => pulling.start(`${ref} (${platform})`),
        onPull: (ref, platform, r) => {
          pulling.done(`${ref} (${platform})`);
          if (!tty && !opts.quiet)
            warn(
              `pulled ${ref} (${platform}): ${r.blobsFetched} blobs fetched (${bytes(r.bytesFetched)}), ${r.blobsSkipped} cached\n`,
            );
        },
      });
      let result: BuildResult;
      let published: Published[] = [];
      const bars = packProgress('build', opts.quiet ? { enabled: false } : {});
      try {
        const file = program?.file ?? opts.file;
        const tags = opts.tag.length && !storeNames ? opts.tag : ['latest'];
        result = await build({
          context: program?.context ?? contextArg ?? '.',
          ...(file ? { file } : {}),
          platforms: program?.platforms ?? platformsOption(opts.platform),
          tags,
          buildArgs: parsePairs('--build-arg', opts.buildArg),
          labels: parsePairs('--label', opts.label),
          annotations: { ...program?.annotations, ...parsePairs('--annotation', opts.annotation) },
          family: opts.format as Family,
          sourceDateEpoch,
          ...(compressionLevel !== undefined ? { compressionLevel } : {}),
          parents,
          onWarning: warnOnce(),
          attest: {
            sbom: opts.sbom,
            provenance: opts.provenance,
            onWarning: (m) => warn(`warning: ${m}\n`),
          },
          tool: TOOL,
          ...(opts.imageName ? { imageName: opts.imageName } : {}),
          ...(opts.allowForeignBinaries ? { allowForeignBinaries: true } : {}),
          onPackProgress: (p, done, total) => bars.update(formatPlatform(p), done, total),
          signal: runSignal(),
        });
        const registryTags = opts.tag.filter((t) => !t.includes('/') && !t.includes(':'));
        const publisher = storeNames
          ? storePublisher(storeNames)
          : outputsPublisher(
              outputs,
              await clientOptions(opts),
              opts.push ? [] : registryTags,
              opts.platformTags === true,
            );
        published = await publisher.publish(result.index, {
          tags,
          referrers: result.referrers,
          sourceDateEpoch,
          ...(opts.imageName ? { imageName: opts.imageName } : {}),
          signal: runSignal(),
        });
      } finally {
        pulling.stop();
        bars.stop();
        await parents.close();
        await locals.close();
        await program?.cleanup();
      }
      if (opts.json) {
        sayJson({
          index: result.indexDigest,
          mediaType: result.index.mediaType(),
          outputs,
          ...(storeNames ? { stored: storeNames } : {}),
          images: result.images.map((i) => ({ ...i, platform: formatPlatform(i.platform) })),
          referrers: result.referrers.map((r) => ({
            artifactType: r.descriptor.artifactType,
            digest: r.descriptor.digest,
            subject: r.manifest.subject?.digest,
          })),
        });
        return;
      }
      say(
        table(
          result.images.map((i) => [formatPlatform(i.platform), i.digest, bytes(i.size)]),
          ['PLATFORM', 'MANIFEST DIGEST', 'COMPRESSED'],
        ),
      );
      say(`\nindex ${result.indexDigest}`);
      if (result.referrers.length)
        say(`referrers: ${result.referrers.length} (SBOMs and provenance beside the images)`);
      for (const out of outputs) {
        const pushed = published.find((p) => p.kind === 'registry' && p.dest === out.dest)?.push;
        say(
          out.kind === 'registry'
            ? `pushed ${pushed?.reference ?? out.dest}`
            : `wrote ${out.kind} ${out.dest}`,
        );
      }
      for (const name of storeNames ?? []) say(`stored ${name} in the local store`);
    },
  );
}
