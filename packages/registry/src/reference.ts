import { InvalidReferenceError } from './errors.ts';

/**
 * An image reference, parsed with Docker's rules:
 * `[host[:port]/]repo/path[:tag][@algorithm:hex]`.
 *
 * - No host (the first path component has no `.` or `:` and is not `localhost`) → `docker.io`.
 * - Docker Hub names of one component get `library/` (`alpine` → `docker.io/library/alpine`).
 * - `index.docker.io` and `registry-1.docker.io` are spelled `docker.io` here; {@link apiHost} gives the host to
 *   talk to.
 * - Repository names must be lowercase (as Docker requires); an uppercase name is an error whose hint shows the
 *   lowercase spelling rather than a silent rename of the push target.
 */
export interface Reference {
  /** Registry as written by users and used for credentials: `docker.io`, `ghcr.io`, `localhost:5000`. */
  readonly registry: string;
  /** Repository path inside the registry: `library/alpine`, `org/app`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

const TAG_RE = /^[\w][\w.-]{0,127}$/;
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const HOST_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST_RE = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
const MAX_NAME = 255;

/** True when `tag` is a valid tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** True when `digest` has the `algorithm:encoded` shape (sha256 must be 64 lowercase hex characters). */
export function isValidDigest(digest: string): boolean {
  if (!DIGEST_RE.test(digest)) return false;
  return !digest.startsWith('sha256:') || SHA256_RE.test(digest);
}

/** Parse `input` into a {@link Reference}. Throws {@link InvalidReferenceError} (code `REFERENCE_INVALID`) with a hint. */
export function parseReference(input: string): Reference {
  const bad = (why: string, hint: string): never => {
    throw new InvalidReferenceError(input, why, hint);
  };
  const example = 'expected [host[:port]/]name[:tag][@sha256:<64 hex>], e.g. ghcr.io/org/app:1.0';
  if (input.trim() === '') bad('empty reference', example);
  if (input !== input.trim() || /\s/.test(input)) bad('contains whitespace', 'remove spaces and newlines');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    bad('has a URL scheme', `drop the scheme: ${input.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')}`);
  }

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) bad(`invalid digest "${digest}"`, 'a digest is sha256:<64 lowercase hex>');
  }

  let registry = DOCKER_HUB;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      if (!HOST_RE.test(first))
        bad(`invalid registry host "${first}"`, 'a host is name[:port], e.g. localhost:5000');
      const port = /:(\d+)$/.exec(first)?.[1];
      if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
        bad(
          `port ${port} of registry host "${first}" is out of range`,
          `a port is 1 to 65535, e.g. ${first.slice(0, first.lastIndexOf(':'))}:5000`,
        );
      }
      registry = DOCKER_HUB_ALIASES.has(first.toLowerCase()) ? DOCKER_HUB : first;
      rest = rest.slice(slash + 1);
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) {
      bad(`invalid tag "${tag}"`, 'a tag is up to 128 of [A-Za-z0-9_.-] and does not start with "." or "-"');
    }
  }

  if (rest === '') bad('missing repository name', example);
  if (rest !== rest.toLowerCase()) {
    bad(
      'repository name must be lowercase',
      `use ${formatReference({ registry, repository: rest.toLowerCase(), tag, digest })}`,
    );
  }
  const components = rest.split('/');
  for (const c of components) {
    if (!COMPONENT_RE.test(c)) {
      bad(
        `invalid repository name component "${c}"`,
        'components are lowercase letters and digits, separated by ".", "_", "__" or "-", joined by "/"',
      );
    }
  }
  let repository = rest;
  if (registry === DOCKER_HUB && components.length === 1) repository = `library/${rest}`;
  if (registry.length + 1 + repository.length > MAX_NAME) {
    bad(`name longer than ${MAX_NAME} characters`, 'use a shorter repository path');
  }
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** Canonical string form: `registry/repository[:tag][@digest]` (Docker Hub names keep `docker.io/library/`). */
export function formatReference(ref: {
  registry: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Same repository, different tag or digest. */
export function withTag(ref: Reference, tag: string): Reference {
  return { registry: ref.registry, repository: ref.repository, tag };
}

export function withDigest(ref: Reference, digest: string): Reference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

/** The thing after `/manifests/`: the digest when present (it pins the content), else the tag, else `latest`. */
export function manifestReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Host (and port) to send API requests to: `docker.io` → `registry-1.docker.io`. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/**
 * True for hosts that are spoken to over plain HTTP without asking: `localhost`, `127.0.0.0/8`, `[::1]`
 * (with or without a port). Everything else uses HTTPS with verified TLS unless `insecure` is set.
 */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith('[')
    ? registry.slice(0, registry.indexOf(']') + 1)
    : registry.replace(/:[0-9]+$/, '');
  if (host.toLowerCase() === 'localhost' || host === '[::1]') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m?.slice(1).every((o) => Number(o) <= 255) ?? false;
}
