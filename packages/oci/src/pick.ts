/** The ONE platform picker: the image for one platform out of an index or a single image. */
import { OciError } from './errors.ts';
import type { Image } from './image.ts';
import { type ImageIndex, platformOfImage } from './image-index.ts';
import { isImageIndex } from './layout.ts';
import { formatPlatform, type Platform, platformMatches } from './platform.ts';

/** No image for the platform asked for; the hint lists the platforms there are. */
export class PlatformNotFoundError extends OciError {
  constructor(
    message: string,
    hint: string,
    readonly available: string[],
  ) {
    super('OCI_PLATFORM_NOT_FOUND', message, { hint });
  }
}

const show = (p: Platform | string) => (typeof p === 'string' ? p : formatPlatform(p));

/**
 * The image of `subject` for `platform`. A single image is returned as it is when `platform` is undefined
 * (and checked otherwise); an index needs a platform. `where` names the subject in errors.
 */
export async function pickPlatform(
  subject: Image | ImageIndex,
  platform: Platform | string | undefined,
  where: string,
): Promise<{ image: Image; platform: Platform }> {
  if (!isImageIndex(subject)) {
    const have = await platformOfImage(subject);
    if (platform && !platformMatches(platform, have)) {
      throw new PlatformNotFoundError(
        `${where} is a single ${formatPlatform(have)} image, not ${show(platform)}`,
        `drop --platform or use --platform ${formatPlatform(have)}`,
        [formatPlatform(have)],
      );
    }
    return { image: subject, platform: have };
  }
  if (!platform) throw new TypeError(`pickPlatform: ${where} is an index; name a platform`);
  const children = await subject.images();
  for (const { descriptor, image } of children) {
    if (descriptor.platform && platformMatches(platform, descriptor.platform)) {
      return { image, platform: descriptor.platform };
    }
  }
  const available = children.map((c) =>
    c.descriptor.platform ? formatPlatform(c.descriptor.platform) : '?',
  );
  throw new PlatformNotFoundError(
    `${where} has no image for ${show(platform)}`,
    `pick one of: ${available.join(', ')} (--platform)`,
    available,
  );
}
