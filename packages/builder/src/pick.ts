/** The image for one platform out of an index or a single image, with errors that list what there is. */
import {
  formatPlatform,
  type Image,
  type ImageIndex,
  isImageIndex,
  type Platform,
  platformMatches,
  platformOfImage,
} from '@scratchpack/oci';
import { BuildInputError } from './errors.ts';

/**
 * The image of `subject` for `platform`. A single image is returned as it is when `platform` is undefined
 * (and checked otherwise); an index needs a platform. `where` names the subject in errors.
 */
export async function pickImage(
  subject: Image | ImageIndex,
  platform: Platform | string | undefined,
  where: string,
): Promise<{ image: Image; platform: Platform }> {
  if (!isImageIndex(subject)) {
    const have = await platformOfImage(subject);
    if (platform && !platformMatches(platform, have)) {
      throw new BuildInputError(
        `${where} is a single ${formatPlatform(have)} image, not ${typeof platform === 'string' ? platform : formatPlatform(platform)}`,
        `drop --platform or use --platform ${formatPlatform(have)}`,
      );
    }
    return { image: subject, platform: have };
  }
  if (!platform) throw new TypeError(`pickImage: ${where} is an index; name a platform`);
  const children = await subject.images();
  for (const { descriptor, image } of children) {
    if (descriptor.platform && platformMatches(platform, descriptor.platform)) {
      return { image, platform: descriptor.platform };
    }
  }
  const available = children.map((c) =>
    c.descriptor.platform ? formatPlatform(c.descriptor.platform) : '?',
  );
  throw new BuildInputError(
    `${where} has no image for ${typeof platform === 'string' ? platform : formatPlatform(platform)}`,
    `pick one of: ${available.join(', ')} (--platform)`,
  );
}
