/** `dir[:tag]` arguments: open the layout and resolve the tag, with errors that name both. */
import {
  formatPlatform,
  type Image,
  type ImageIndex,
  isImageIndex,
  type Layout,
  type Platform,
  parseLayoutRef,
  platformMatches,
  platformOfImage,
  readLayout,
} from '@scratchpack/oci';
import { UsageError } from './errors.ts';

export interface OpenedRef {
  layout: Layout;
  dir: string;
  tag: string | undefined;
  subject: Image | ImageIndex;
}

export async function openLayoutRef(ref: string): Promise<OpenedRef> {
  const { dir, tag } = parseLayoutRef(ref);
  const layout = await readLayout(dir);
  const subject = await layout.resolve(tag);
  return { layout, dir, tag, subject };
}

/** The image for `platform` (default: this host's), from an index or a single image. */
export async function pickImage(
  subject: Image | ImageIndex,
  platform: Platform | string | undefined,
  where: string,
): Promise<{ image: Image; platform: Platform }> {
  if (!isImageIndex(subject)) {
    const have = await platformOfImage(subject);
    if (platform && !platformMatches(platform, have)) {
      throw new UsageError(
        `${where} is a single ${formatPlatform(have)} image, not ${typeof platform === 'string' ? platform : formatPlatform(platform)}`,
        `drop --platform or use --platform ${formatPlatform(have)}`,
      );
    }
    return { image: subject, platform: have };
  }
  const children = await subject.images();
  const want = platform ?? hostOciPlatform();
  for (const { descriptor, image } of children) {
    if (descriptor.platform && platformMatches(want, descriptor.platform)) {
      return { image, platform: descriptor.platform };
    }
  }
  const available = children.map((c) =>
    c.descriptor.platform ? formatPlatform(c.descriptor.platform) : '?',
  );
  throw new UsageError(
    `${where} has no image for ${typeof want === 'string' ? want : formatPlatform(want)}`,
    `pick one of: ${available.join(', ')} (--platform)`,
  );
}

/** This host as an OCI platform string (Go names). */
export function hostOciPlatform(): string {
  const arch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    riscv64: 'riscv64',
    s390x: 's390x',
    mips64el: 'mips64le',
  };
  return `linux/${arch[process.arch] ?? process.arch}`;
}
