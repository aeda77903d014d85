/**
 * Image names as Docker spells them: `[host[:port]/]path[:tag]`. Normalised as Docker does: no host means
 * Docker Hub (`docker.io`, one-component paths under `library/`), no tag means `latest`. Each name has a
 * short "familiar" form (`hello:latest`, `me/app:1.0`, `ghcr.io/me/app:1.0`) — what users type and what
 * the local store keeps as `org.opencontainers.image.ref.name` — and a full one (`docker.io/library/hello:latest`)
 * for `io.containerd.image.name`.
 */
import { InvalidImageNameError } from './store-errors.ts';

export interface ImageName {
  /** `hello:latest`, `me/app:1.0`, `ghcr.io/me/app:1.0`. */
  familiar: string;
  /** `docker.io/library/hello:latest`, `ghcr.io/me/app:1.0`. */
  full: string;
  host: string;
  /** The path without host or tag (`library/hello`, `me/app`). */
  path: string;
  tag: string;
}

const HUB = 'docker.io';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$/;

/** True when `first` (the text before the first `/`) is a registry host: has a `.` or `:`, or is localhost. */
export function isRegistryHost(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[');
}

/** docker's (distribution's) limit on `host/path`. */
const MAX_NAME = 255;

/** Parse and normalise an image name; throws `InvalidImageNameError` saying what is wrong. */
export function parseImageName(input: string): ImageName {
  const bad = (why: string): never => {
    throw new InvalidImageNameError(input, why);
  };
  if (input === '') bad('empty');
  if (/\s/.test(input)) bad('contains whitespace');
  if (input.includes('@')) bad('digests are not names here; use name[:tag]');
  let rest = input;
  let host = HUB;
  const slash = rest.indexOf('/');
  if (slash >= 0 && isRegistryHost(rest.slice(0, slash))) {
    const h = rest.slice(0, slash);
    if (!HOST_RE.test(h)) bad(`invalid registry host "${h}"`);
    host = HUB_ALIASES.has(h.toLowerCase()) ? HUB : h;
    rest = rest.slice(slash + 1);
  }
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag))
      bad(`invalid tag "${tag}" (up to 128 of [A-Za-z0-9_.-], not starting with . or -)`);
  }
  if (rest === '') bad('missing repository name');
  if (rest !== rest.toLowerCase()) bad('repository names are lowercase');
  for (const c of rest.split('/')) {
    if (!COMPONENT_RE.test(c)) bad(`invalid path component "${c}"`);
  }
  // docker: a 64-hex name would be read as an image ID; the whole name is at most 255 characters.
  if (/^[a-f0-9]{64}$/.test(rest))
    bad('a 64-character hexadecimal name reads as an image ID; pick another name');
  const path = host === HUB && !rest.includes('/') ? `library/${rest}` : rest;
  if (host.length + 1 + path.length > MAX_NAME)
    bad(`${host.length + 1 + path.length} characters in ${host}/${path}: docker's limit is ${MAX_NAME}`);
  const short = host === HUB ? path.replace(/^library\//, '') : `${host}/${path}`;
  return { familiar: `${short}:${tag}`, full: `${host}/${path}:${tag}`, host, path, tag };
}

/** True when `input` parses as an image name. */
export function isImageName(input: string): boolean {
  try {
    parseImageName(input);
    return true;
  } catch {
    return false;
  }
}
