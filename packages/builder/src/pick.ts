/** The image for one platform out of an index or a single image, with errors that list what there is. */
import {
  type Image,
  type ImageIndex,
  type Platform,
  PlatformNotFoundError,
  pickPlatform,
} from '@scratchpack/oci';
import { BuildInputError } from './errors.ts';

/**
 * oci's `pickPlatform`, with its "no such platform" as the builder's input error (a usage error: exit 2).
 */
export async function pickImage(
  subject: Image | ImageIndex,
  platform: Platform | string | undefined,
  where: string,
): Promise<{ image: Image; platform: Platform }> {
  try {
    return await pickPlatform(subject, platform, where);
  } catch (err) {
    if (err instanceof PlatformNotFoundError) throw new BuildInputError(err.message, err.hint);
    throw err;
  }
}
