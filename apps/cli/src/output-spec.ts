/**
 * `--output` specs, as docker buildx spells them: `type=oci,dest=out.tar` (an OCI archive),
 * `type=oci,dest=dir,tar=false` or `type=oci-layout,dest=dir` (an OCI image layout),
 * `type=registry,name=REF` or `type=image,name=REF,push=true` (pushed, as buildx --push), or a reference in
 * scratchpack's one grammar (see @scratchpack/transport): `oci:DIR`, `oci-archive:FILE`, `docker://REF`, a name
 * whose first part is a registry host (`127.0.0.1:5000/me/app:1`, `ghcr.io/me/app`: pushed), or a path
 * (ending in `.tar`: an archive; else a layout directory).
 */
import { parseOutputRef } from '@scratchpack/transport';
import { UsageError } from './errors.ts';

export interface OutputSpec {
  kind: 'layout' | 'archive' | 'registry';
  /** A directory, a file, or a registry reference. */
  dest: string;
}

export function parseOutput(spec: string): OutputSpec {
  if (!spec.includes('=')) {
    const ref = parseOutputRef(spec);
    if (ref.kind === 'registry') return { kind: 'registry', dest: ref.input.replace(/^docker:\/\//, '') };
    if (ref.kind === 'archive') return { kind: 'archive', dest: ref.file };
    if (ref.kind === 'layout') {
      if (ref.tag || ref.digest)
        throw new UsageError(
          `--output ${spec}: an output is a directory or file; name tags with -t`,
          `e.g. --output ${ref.dir} -t ${ref.tag ?? 'latest'}`,
        );
      return { kind: 'layout', dest: ref.dir };
    }
    throw new UsageError(
      `--output ${spec}: the local store is not an --output`,
      'use -t NAME (without --output) to store the image',
    );
  }
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0)
      throw new UsageError(
        `--output "${spec}": "${part}" is not key=value`,
        'e.g. --output type=oci,dest=out.tar',
      );
    fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const type = fields.get('type') ?? 'oci';
  if (type === 'registry' || type === 'image') {
    const name = fields.get('name');
    if (!name) {
      const given = fields.get('dest') ?? fields.get('ref');
      throw new UsageError(
        `--output "${spec}" has no name=: type=${type} pushes to the registry reference in name=`,
        `e.g. --output type=registry,name=${given ?? 'ghcr.io/me/app:1.0'}${given ? '' : ' (or just --output ghcr.io/me/app:1.0)'}`,
      );
    }
    if (type === 'image' && fields.get('push') !== 'true')
      throw new UsageError(
        `--output type=image without push=true would need a Docker engine`,
        `push it (--output type=registry,name=${name}) or keep it in the local store (-t ${name})`,
      );
    for (const k of fields.keys())
      if (!['type', 'name', 'push'].includes(k))
        throw new UsageError(`--output "${spec}": unsupported field "${k}"`);
    return { kind: 'registry', dest: name };
  }
  const dest = fields.get('dest');
  const name = fields.get('name');
  // name= or push=true belong to the registry output: point there rather than to a missing dest=.
  if ((name && !dest) || fields.get('push') === 'true') {
    throw new UsageError(
      `--output "${spec}": ${name && !dest ? 'name=' : 'push=true'} goes with type=registry, the output that pushes`,
      `e.g. --output type=registry,name=${name ?? 'ghcr.io/me/app:1.0'}`,
    );
  }
  if (!dest)
    throw new UsageError(
      `--output "${spec}" has no dest=`,
      'e.g. --output type=oci,dest=out.tar (an archive), or --output type=registry,name=REF to push',
    );
  for (const k of fields.keys()) {
    if (!['type', 'dest', 'tar'].includes(k))
      throw new UsageError(`--output "${spec}": unsupported field "${k}"`);
  }
  if (!fields.has('type') && parseOutputRef(dest).kind === 'registry') {
    throw new UsageError(
      `--output "${spec}": dest=${dest} looks like a registry reference, but dest= is a file or directory`,
      `to push, --output type=registry,name=${dest} (or just --output ${dest})`,
    );
  }
  if (type === 'oci-layout' || (type === 'oci' && fields.get('tar') === 'false'))
    return { kind: 'layout', dest };
  if (type === 'oci') return { kind: 'archive', dest };
  throw new UsageError(
    `--output type=${type} is not supported`,
    'use type=oci (archive), type=oci,tar=false or type=oci-layout (layout directory), or type=registry,name=REF to push',
  );
}

/** `KEY=VALUE` pairs from repeatable flags, in order; later ones win. */
export function parsePairs(flag: string, values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`${flag} "${v}": expected KEY=VALUE`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** `--compression-level`'s help: the gzip level of every layer written (build, import, ADD of a tar). */
export const COMPRESSION_LEVEL_HELP =
  'gzip level of the layers, 0-9 (default 6, as docker and pigz; 9 is a little smaller and about twice as slow)';

/** `--compression-level <0-9>` as a number; undefined when not given (the library's default, 6). */
export function parseCompressionLevel(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]$/.test(value))
    throw new UsageError(
      `--compression-level ${value}: expected a gzip level from 0 to 9`,
      'e.g. --compression-level 9 (smaller, about twice as slow as the default 6)',
    );
  return Number(value);
}
