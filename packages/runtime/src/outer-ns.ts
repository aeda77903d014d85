/**
 * The namespace around the container's: what bwrap cannot set up itself is done in a user and mount namespace of
 * its own (util-linux `unshare`, the caller mapped to root there), and bwrap runs inside it — the container's
 * namespaces are its children. There the image's overlay is mounted (a cached image as the read-only lower, the
 * container's upper directory; `userxattr`, Linux ≥ 5.11) and qemu-user registered in a binfmt_misc instance of
 * its own (Linux ≥ 6.7; the container's namespace sees its nearest ancestor's).
 */
import { basename, dirname } from 'node:path';
import { RuntimeInputError } from './errors.ts';

export interface Overlay {
  /** The image's layer directories, base first. */
  lower: readonly string[];
  upper: string;
  work: string;
  merged: string;
}

/** What to set up around the container. */
export interface OuterNamespace {
  overlay?: Overlay;
  /** A binfmt_misc rule (`binfmtRule`) and where to mount the instance it is registered in. */
  binfmt?: { rule: string; mountDir: string };
}

/** The kernel reads mount options from one page. */
const MAX_OPTIONS = 4000;

/** Overlay options refuse these in paths (they separate options and layers). */
const OPTION_SEPARATORS = /[,:\\]/;

/** The argv prefix that runs what follows inside the outer namespace (nothing when there is nothing to set up). */
export function outerNamespacePrefix(unshare: string, o: OuterNamespace): string[] {
  const steps: string[] = [];
  const args: string[] = [];
  const arg = (v: string) => `"$${args.push(v)}"`;
  if (o.overlay) {
    const { lower, upper, work, merged } = o.overlay;
    for (const p of [...lower, upper, work])
      if (OPTION_SEPARATORS.test(p)) throw new Error(`overlay path ${p} holds a comma, colon or backslash`);
    // Layers of one cache directory are named from there (the options must fit in a page), topmost first.
    const parent = lower.length > 0 ? dirname(lower[0]!) : '';
    const shared = lower.every((l) => dirname(l) === parent);
    const names = [...lower].reverse().map((l) => (shared ? basename(l) : l));
    const options = `lowerdir=${names.join(':')},upperdir=${upper},workdir=${work},userxattr`;
    if (options.length > MAX_OPTIONS)
      throw new RuntimeInputError(
        `the image has ${lower.length} layers, more than one overlay mount can stack here`,
        'squash the image into fewer layers (e.g. scratchpack import of its exported filesystem)',
      );
    if (shared) steps.push(`cd ${arg(parent)}`);
    steps.push(`mount -t overlay overlay -o ${arg(options)} ${arg(merged)}`);
  }
  if (o.binfmt) {
    const dir = arg(o.binfmt.mountDir);
    steps.push(
      `mount -t binfmt_misc binfmt_misc ${dir}`,
      `printf %s ${arg(o.binfmt.rule)} > ${dir}/register`,
    );
  }
  if (steps.length === 0) return [];
  const script = `${steps.join(' && ')} && shift ${args.length} && exec "$@"`;
  return [
    unshare,
    '--user',
    '--map-root-user',
    '--mount',
    '/bin/sh',
    '-c',
    script,
    'scratchpack-ns',
    ...args,
  ];
}
