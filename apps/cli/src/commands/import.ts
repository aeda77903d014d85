/**
 * `scratchpack import`: the daemonless `docker import` — a root filesystem tarball (plain or gzip, a file
 * or standard input) becomes a one-layer image. By default the layer's tar is the input's (decompressed) bytes,
 * so its diff_id is the one docker and podman give the same tar; `--normalize` rewrites it like every other layer
 * (sorted, `./` and the root entry dropped, times clamped to SOURCE_DATE_EPOCH). Symlinks, hardlinks, device
 * nodes, modes, ids and xattrs are kept. Unsafe or broken archives are refused naming the entry (in both modes),
 * and nothing is written unless the whole image was built.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { attestations, isPackageDbPath, osPackages } from '@scratchpack/attest';
import { matrixPlatform } from '@scratchpack/builder';
import { applyConfigInstructions } from '@scratchpack/dockerfile';
import {
  appendLayers,
  ChunkPool,
  emptyImage,
  formatPlatform,
  hostPlatform,
  type ImportedTar,
  type ImportTarOptions,
  imageDescriptor,
  imageIndex,
  importTarLayer,
  keepTarLayer,
  parseImageName,
  parseSourceDateEpoch,
  rfc3339,
  withAnnotations,
  writeLayout,
  writeReferrers,
} from '@scratchpack/oci';
import { describeRef } from '@scratchpack/transport';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { destinationRef, localStore } from '../image-ref.ts';
import { runSignal } from '../interrupt.ts';
import { bytes } from '../output.ts';
import { checkOutputPath } from '../output-path.ts';
import { COMPRESSION_LEVEL_HELP, parseCompressionLevel } from '../output-spec.ts';
import { withPackProgress } from '../progress.ts';
import { say, sayJson } from '../safe-text.ts';
import { TOOL } from '../tool.ts';

/** The input as a stream; for a file, also the hand-back for its chunks' memory (`ImportTarOptions.recycle`). */
async function openInput(source: string): Promise<{ input: Readable; recycle?: (chunk: Buffer) => void }> {
  if (source === '-') {
    if (process.stdin.isTTY)
      throw new UsageError(
        'standard input is a terminal',
        'pipe a tarball: tar -C rootfs -c . | scratchpack import - focal',
      );
    return { input: process.stdin };
  }
  try {
    const s = await stat(source);
    if (!s.isFile())
      throw new UsageError(`${source} is not a file`, 'pass a .tar or .tar.gz file, or - for stdin');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const pool = new ChunkPool(1024 * 1024);
  return { input: Readable.from(fileChunks(source, pool), { objectMode: false }), recycle: pool.give };
}

/**
 * The file in 1 MiB pieces (a 64 KiB stream costs thousands more trips through the parser and the hash), read
 * synchronously: a read from the page cache takes microseconds, and an asynchronous one waits for a thread of
 * the pool, which is busy compressing. Each piece is read into memory the import gave back (`pool`) when there
 * is some, else into a new buffer. An async generator on purpose: \`Readable.from\` pulls a sync one again
 * inside each \`read()\`, so every read would join two pieces into a fresh 2 MiB copy.
 */
async function* fileChunks(path: string, pool: ChunkPool): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const chunk = pool.take();
      const n = readSync(fd, chunk, 0, chunk.byteLength, null);
      if (n === 0) {
        pool.give(chunk);
        return;
      }
      yield n === chunk.byteLength ? chunk : chunk.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Read and pack the tarball with a bar per phase on a TTY: reading (spooling contents), then packing. */
async function importWithProgress(
  input: Readable,
  source: string,
  name: string,
  opts: ImportTarOptions,
  normalize: boolean,
): Promise<ImportedTar> {
  const size = source === '-' ? undefined : (await stat(source)).size;
  const importer = normalize ? importTarLayer : keepTarLayer;
  return withPackProgress(`import ${name}`, (bars) =>
    importer(input, {
      ...opts,
      source: name,
      ...(source === '-' ? {} : { file: source }),
      whiteouts: 'refuse',
      requireEndMarker: true,
      // The package databases the SBOM lists, held while the tar is read (it is not read again).
      keepFiles: isPackageDbPath,
      signal: runSignal(),
      onRead: (n) => bars.update('read', n, Math.max(size ?? n, n)),
      onProgress: (n, total) => bars.update('pack', n, total),
    }),
  );
}

export function importCommand(program: Command): void {
  program
    .command('import')
    .description('import a root filesystem tarball as a one-layer image (docker import, without a daemon)')
    .argument('<tarball>', 'rootfs.tar or rootfs.tar.gz, or - to read standard input')
    .argument(
      '<image>',
      'a name in the local store (focal, focal:20.04) or an OCI layout to write, created if needed (./out:tag, oci:out:tag)',
    )
    .option('--platform <platform>', 'what the programs in the tarball run on (default: this host)')
    .option(
      '-c, --change <instruction>',
      'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, LABEL, USER, WORKDIR, EXPOSE, STOPSIGNAL, VOLUME (repeatable)',
      (v: string, a: string[]) => [...a, v],
      [],
    )
    .option('-m, --message <text>', 'history comment (default "Imported from <file>")')
    .option('--image-name <repo>', 'repository name recorded for docker load / containerd')
    .option(
      '--normalize',
      "rewrite the tar like every built layer (sorted, no ./ or root entry, times clamped to SOURCE_DATE_EPOCH) instead of keeping its bytes (docker's and podman's diff_id)",
    )
    .option('--compression-level <0-9>', COMPRESSION_LEVEL_HELP)
    .option('--json', 'print the result as JSON')
    .option('--no-sbom', 'do not write SPDX and CycloneDX SBOMs beside the image')
    .option('--no-provenance', 'do not write a SLSA provenance statement beside the image')
    .action(
      async (
        source: string,
        dest: string,
        opts: {
          platform?: string;
          change: string[];
          message?: string;
          imageName?: string;
          compressionLevel?: string;
          normalize?: boolean;
          json?: boolean;
          sbom: boolean;
          provenance: boolean;
        },
      ) => {
        const platform = matrixPlatform(opts.platform ?? formatPlatform(hostPlatform({ os: 'linux' })));
        const target = destinationRef(dest);
        if (target.kind === 'archive' || target.kind === 'registry')
          throw new UsageError(
            `import writes the local store or a layout; ${dest} is ${describeRef(target)}`,
            `import into the store, then copy it: scratchpack import ${source} NAME && scratchpack copy store:NAME ${dest}`,
          );
        const storeName = target.kind === 'store' ? parseImageName(target.name).familiar : undefined;
        const dir = target.kind === 'layout' ? target.dir : localStore().dir;
        const tag = target.kind === 'layout' ? (target.tag ?? 'latest') : storeName!;
        if (target.kind === 'layout') await checkOutputPath(dir, 'layout', 'destination');
        const sourceDateEpoch = parseSourceDateEpoch(process.env.SOURCE_DATE_EPOCH);
        const compressionLevel = parseCompressionLevel(opts.compressionLevel);
        const created = rfc3339(sourceDateEpoch);
        const base = emptyImage({ platform, sourceDateEpoch });
        // Check the changes before reading a possibly large tarball.
        await applyConfigInstructions(base, opts.change);

        const name = source === '-' ? '-' : basename(source);
        const normalize = opts.normalize === true;
        const opened = await openInput(source);
        const { layer, entries, files, input } = await importWithProgress(
          opened.input,
          source,
          name,
          {
            sourceDateEpoch,
            keepTimes: true,
            ...(compressionLevel !== undefined ? { compressionLevel } : {}),
            ...(opened.recycle ? { recycle: opened.recycle } : {}),
          },
          normalize,
        );
        const imported = await appendLayers(base, {
          layer,
          history: {
            created,
            created_by: 'scratchpack import',
            comment: opts.message ?? `Imported from ${name}`,
          },
        });
        const { image: changed } = await applyConfigInstructions(imported, opts.change);
        const annotations = { 'org.opencontainers.image.created': created };
        const image = await withAnnotations(changed, annotations);
        const index = imageIndex([{ image }], { annotations });
        if (storeName) await localStore().put(index, [storeName], { signal: runSignal() });
        else
          await writeLayout(dir, index, {
            tags: [tag],
            ...(opts.imageName ? { imageName: opts.imageName } : {}),
            signal: runSignal(),
          });
        const referrers = await attestations(
          {
            name: opts.imageName ?? 'image',
            named: opts.imageName !== undefined,
            platform: formatPlatform(platform),
            subject: await imageDescriptor(image),
            created,
            sourceDateEpoch,
            tool: TOOL,
            request: {
              platforms: [formatPlatform(platform)],
              buildArgs: {},
              labels: {},
              annotations: {},
              tags: [tag],
              format: 'oci',
              changes: opts.change,
              options: {
                tar: normalize ? 'normalized' : 'kept',
                message: opts.message ?? `Imported from ${name}`,
                ...(compressionLevel !== undefined ? { compressionLevel } : {}),
                ...(opts.imageName ? { imageName: opts.imageName } : {}),
              },
            },
            parents: [],
            imports: [{ name, sha256: input.hex }],
            files: [], // the tarball's digest and its packages stand for its (possibly many) files
            programs: [],
            osPackages: await osPackages(files),
          },
          { sbom: opts.sbom, provenance: opts.provenance },
        );
        if (referrers.length) await writeReferrers(dir, referrers, { replace: true });

        const summary = {
          layout: dir,
          tag,
          platform: formatPlatform(platform),
          index: (await index.digest()).toString(),
          manifest: (await image.digest()).toString(),
          layer: (await layer.digest()).toString(),
          diffId: (await layer.diffId()).toString(),
          // kept: the layer's tar is the input's bytes; normalized: rewritten (--normalize).
          tar: normalize ? 'normalized' : 'kept',
          entries,
          size: await layer.size(),
        };
        if (opts.json) {
          sayJson(summary);
          return;
        }
        say(
          `imported ${name} (${summary.entries} entries, ${bytes(summary.size)} compressed) as ${storeName ?? `${dir}:${tag}`} for ${summary.platform}`,
        );
        say(
          normalize
            ? `layer tar normalised (sorted, times clamped to SOURCE_DATE_EPOCH): diff_id ${summary.diffId}`
            : `layer tar kept as given (docker and podman import give the same diff_id): diff_id ${summary.diffId}`,
        );
        say(`index ${summary.index}`);
      },
    );
}
