/**
 * How scratchpack reads a name — ONE rule, used by every command (containers/image's transports, docker's
 * local-first lookup):
 *
 *   oci:PATH[:TAG|@DIGEST]     an OCI image layout (a directory)
 *   oci-archive:FILE[:TAG]     an OCI archive (a tar of a layout; `save` writes them)
 *   docker://REF               a registry (REF as docker spells it: [host[:port]/]repo[:tag][@digest])
 *   store:NAME                 the local image store (NAME[:TAG], or a digest / 12+ hex prefix)
 *
 * Without a prefix:
 *   1. a path that starts with `/`, `./`, `../` or `~/`, or whose part before `:TAG` is a layout directory
 *      (with `oci-layout`) or a file, is a layout or an archive (a file);
 *   2. otherwise an image name: for reading, the local store when it has that name, else the registry
 *      (exactly as `docker run`); for writing (`-o`), a registry when the name starts with a registry host
 *      (`127.0.0.1:5000/app`, `ghcr.io/me/app`), else a layout directory to create (`dist/oci`);
 *   3. anything else is refused with one error listing what was tried.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { isRegistryHost, parseLayoutRef } from '@scratchpack/oci';
import { formatReference, parseReference, type Reference } from '@scratchpack/registry';
import { TransportError } from './errors.ts';

export type ImageRef =
  | { kind: 'layout'; dir: string; tag?: string; digest?: string; input: string }
  | { kind: 'archive'; file: string; tag?: string; input: string }
  | { kind: 'registry'; reference: Reference; input: string }
  | { kind: 'store'; name: string; input: string };

export type RefKind = ImageRef['kind'];

/** What the user gets to see: `layout dist/oci:latest`, `registry 127.0.0.1:5000/a:1`, `store hello:latest`. */
export function describeRef(r: ImageRef): string {
  switch (r.kind) {
    case 'layout':
      return `layout ${r.dir}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
    case 'archive':
      return `archive ${r.file}${r.tag ? `:${r.tag}` : ''}`;
    case 'registry':
      return `registry ${formatReference(r.reference)}`;
    case 'store':
      return `store ${r.name}`;
  }
}

const PATH_START = /^(\/|\.\/|\.\.\/|~\/|\.$|\.\.$|~$)/;

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
}

/** `PATH[@DIGEST]` or `PATH[:TAG]` of a layout, digest first (a digest has a `:` of its own). */
function layoutParts(input: string, spec: string): ImageRef {
  const at = spec.lastIndexOf('@sha256:');
  if (at > 0) {
    const digest = spec.slice(at + 1);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest))
      throw new TransportError('TRANSPORT_INVALID_REFERENCE', `${input}: invalid digest "${digest}"`, {
        hint: 'a digest is sha256: and 64 lowercase hex characters',
      });
    return { kind: 'layout', dir: expandHome(spec.slice(0, at)), digest, input };
  }
  const { dir, tag } = parseLayoutRef(spec);
  return { kind: 'layout', dir: expandHome(dir), ...(tag !== undefined && { tag }), input };
}

function archiveParts(input: string, spec: string): ImageRef {
  const { dir, tag } = parseLayoutRef(spec);
  return { kind: 'archive', file: expandHome(dir), ...(tag !== undefined && { tag }), input };
}

/**
 * A path (`dir[:tag]`) as a layout or an archive: reading, by what is there (a file is an archive); writing,
 * by its name (`*.tar` is an archive), so an output never silently replaces a file that is not one.
 */
function pathRef(input: string, purpose: 'read' | 'write'): ImageRef {
  const { dir } = parseLayoutRef(input);
  const archive = purpose === 'write' ? dir.endsWith('.tar') : statOrUndefined(expandHome(dir))?.isFile();
  return archive ? archiveParts(input, input) : layoutParts(input, input);
}

function statOrUndefined(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function isLayoutDir(dir: string): boolean {
  return statOrUndefined(join(expandHome(dir), 'oci-layout'))?.isFile() === true;
}

function registryRef(input: string, spec: string): ImageRef {
  return { kind: 'registry', reference: parseReference(spec), input };
}

export interface ParseOptions {
  /**
   * `read` (default): an unprefixed name is the store's when `inStore(name)` says so, else a registry's.
   * `write`: an unprefixed name with a registry host is a registry, other names are layout paths.
   */
  purpose?: 'read' | 'write';
  /** For reading: whether the local store has `name` (checked only for unprefixed names). */
  inStore?: (name: string) => boolean | Promise<boolean>;
}

/** Everything but the store lookup: a definite reference, or an image name still to look up (reading). */
function classify(
  input: string,
  purpose: 'read' | 'write',
): ImageRef | { kind: 'name'; reference: Reference; input: string } {
  if (typeof input !== 'string' || input.trim() === '')
    throw new TransportError('TRANSPORT_INVALID_REFERENCE', 'empty image reference', {
      hint: 'name an image: a layout path (./dist/oci:latest), a stored name (hello), or a registry reference',
    });
  if (input.startsWith('oci:')) return layoutParts(input, input.slice(4));
  if (input.startsWith('oci-archive:')) return archiveParts(input, input.slice(12));
  if (input.startsWith('docker://')) return registryRef(input, input.slice(9));
  if (input.startsWith('store:')) {
    const name = input.slice(6);
    if (!name) throw new TransportError('TRANSPORT_INVALID_REFERENCE', `${input}: no name after "store:"`);
    return { kind: 'store', name, input };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input))
    throw new TransportError('TRANSPORT_INVALID_REFERENCE', `${input}: unknown transport`, {
      hint: 'use oci:PATH, oci-archive:FILE, docker://REF or store:NAME, or no prefix',
    });
  if (PATH_START.test(input)) return pathRef(input, purpose);
  const { dir } = parseLayoutRef(input);
  // A bare word is a path only when it names a layout (a directory with `oci-layout`) or a file: a folder that
  // happens to be called `hello` does not hide the image `hello`.
  if (isLayoutDir(dir) || statOrUndefined(dir)?.isFile() || (purpose === 'write' && existsSync(dir)))
    return pathRef(input, purpose);

  let reference: Reference | undefined;
  let why = '';
  try {
    reference = parseReference(input);
  } catch (err) {
    why = (err as Error).message;
  }
  const slash = input.indexOf('/');
  const hasHost = slash > 0 && isRegistryHost(input.slice(0, slash));
  if (purpose === 'write') {
    if (!hasHost) return pathRef(input, purpose);
    if (!reference) throw new TransportError('TRANSPORT_INVALID_REFERENCE', why);
    return { kind: 'registry', reference, input };
  }
  if (!reference) {
    throw new TransportError(
      'TRANSPORT_INVALID_REFERENCE',
      `${input} is not an image: no file or directory ${resolve(expandHome(dir))}, and not an image name (${why})`,
      { hint: 'name a layout path (./dir:tag), a stored image (scratchpack images) or a registry reference' },
    );
  }
  return { kind: 'name', reference, input };
}

/** Parse `input` with the rule above (see the module comment). */
export async function parseImageRef(input: string, options: ParseOptions = {}): Promise<ImageRef> {
  const r = classify(input, options.purpose ?? 'read');
  if (r.kind !== 'name') return r;
  // A digest names registry content; a name is the store's when the store has it (docker run's order).
  if (!input.includes('@') && (await options.inStore?.(input))) return { kind: 'store', name: input, input };
  return { kind: 'registry', reference: r.reference, input };
}

/** A destination (`--output`, `copy`'s second argument) by the write rule, without any lookup. */
export function parseOutputRef(input: string): ImageRef {
  const r = classify(input, 'write');
  if (r.kind === 'name') throw new Error('unreachable: writes never look names up');
  return r;
}

/** What an unprefixed read name could have been, for the error when none of them holds it. */
export function triedFor(input: string): string[] {
  const { dir } = parseLayoutRef(input);
  const abs = resolve(expandHome(dir));
  const there = statOrUndefined(abs)?.isDirectory()
    ? `${abs} is a directory without an oci-layout file`
    : `no layout or archive at ${abs}`;
  return [there, `no image ${input} in the local store`];
}
