import {
  type Family,
  formatPlatform,
  type Platform,
  parsePlatform,
  parseSourceDateEpoch,
} from '@scratchpack/oci';
import { SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import type { Command } from 'commander';
import { stageProgram } from '../build/binaries.ts';
import { build } from '../build/build.ts';
import { parseOutput, parsePairs } from '../build/outputs.ts';
import { ParentResolver } from '../build/parents.ts';
import { UsageError } from '../errors.ts';
import { hostOciPlatform } from '../layout-ref.ts';
import { bytes, table } from '../output.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

/** `--platform` values: comma-separated and repeatable; `all` = every platform zig can build. */
export function platformsOption(values: string[]): Platform[] {
  const names = values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) names.push(hostOciPlatform());
  const out: Platform[] = [];
  for (const n of names) {
    const ps = n === 'all' ? SUPPORTED_PLATFORMS.map((s) => s.platform as Platform) : [parsePlatform(n)];
    for (const p of ps) if (!out.some((q) => formatPlatform(q) === formatPlatform(p))) out.push(p);
  }
  return out;
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
    .option(
      '--platform <list>',
      'target platforms, comma-separated or repeated; "all" = every zig platform',
      collect,
      [],
    )
    .option('-t, --tag <tag>', 'tag to point at the index in each output layout (repeatable)', collect, [])
    .option(
      '-o, --output <spec>',
      'a layout directory, an archive (*.tar), or type=oci,dest=… / type=oci-layout,dest=… (repeatable)',
      collect,
      [],
    )
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
    .option('--json', 'print the result as JSON')
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
    .option('--pull', 'ask the registry for parent image tags again instead of using the cache');
  addRegistryFlags(cmd).action(
    async (
      contextArg: string | undefined,
      opts: RegistryFlags & {
        cSource: string[];
        cflag: string[];
        binary: string[];
        name?: string;
        pull?: boolean;
        file?: string;
        platform: string[];
        tag: string[];
        output: string[];
        buildArg: string[];
        label: string[];
        annotation: string[];
        format: string;
        imageName?: string;
        json?: boolean;
      },
    ) => {
      if (opts.format !== 'oci' && opts.format !== 'docker') {
        throw new UsageError(`--format ${opts.format}: expected oci or docker`);
      }
      if (opts.output.length === 0) {
        throw new UsageError(
          'no --output given',
          'e.g. --output dist/oci (a layout) or --output dist/image.oci.tar',
        );
      }
      const sourceDateEpoch = parseSourceDateEpoch(process.env.SOURCE_DATE_EPOCH);
      if (opts.binary.length && opts.platform.length) {
        throw new UsageError('--binary gives the platforms; leave out --platform');
      }
      const outputs = opts.output.map(parseOutput);
      const program =
        opts.cSource.length || opts.binary.length
          ? await stageProgram({
              cSources: opts.cSource,
              cflags: opts.cflag,
              binaries: opts.binary,
              platforms: platformsOption(opts.platform),
              ...(opts.name ? { name: opts.name } : {}),
              ...(contextArg ? { context: contextArg } : {}),
              ...(opts.file ? { file: opts.file } : {}),
            })
          : undefined;
      const parents = new ParentResolver({
        pull: opts.pull === true,
        client: await clientOptions(opts),
        onPull: (ref, platform, r) =>
          process.stderr.write(
            `pulled ${ref} (${platform}): ${r.blobsFetched} blobs fetched (${bytes(r.bytesFetched)}), ${r.blobsSkipped} cached\n`,
          ),
      });
      let result: Awaited<ReturnType<typeof build>>;
      try {
        const file = program?.file ?? opts.file;
        result = await build({
          context: program?.context ?? contextArg ?? '.',
          ...(file ? { file } : {}),
          platforms: program?.platforms ?? platformsOption(opts.platform),
          tags: opts.tag.length ? opts.tag : ['latest'],
          outputs,
          buildArgs: parsePairs('--build-arg', opts.buildArg),
          labels: parsePairs('--label', opts.label),
          annotations: { ...program?.annotations, ...parsePairs('--annotation', opts.annotation) },
          family: opts.format as Family,
          sourceDateEpoch,
          parents,
          ...(opts.imageName ? { imageName: opts.imageName } : {}),
        });
      } finally {
        await parents.close();
        await program?.cleanup();
      }
      if (opts.json) {
        console.log(
          JSON.stringify(
            {
              index: result.indexDigest,
              mediaType: result.index.mediaType(),
              outputs: result.outputs,
              images: result.images.map((i) => ({ ...i, platform: formatPlatform(i.platform) })),
            },
            null,
            2,
          ),
        );
        return;
      }
      console.log(
        table(
          result.images.map((i) => [formatPlatform(i.platform), i.digest, bytes(i.size)]),
          ['PLATFORM', 'MANIFEST DIGEST', 'COMPRESSED'],
        ),
      );
      console.log(`\nindex ${result.indexDigest}`);
      for (const out of result.outputs) console.log(`wrote ${out.kind} ${out.dest}`);
    },
  );
}
