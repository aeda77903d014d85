/** OCI archives: a deterministic tar of a layout plus a Docker `manifest.json` (OCI-NOTES #8). */
import type { Platform } from './platform.ts';

export interface WriteArchiveOptions {
  /** Repository name for Docker's `RepoTags` (`<imageName>:<tag>`); without it RepoTags is empty. */
  imageName?: string;
  /** Which child of a multi-platform index goes into `manifest.json` (default: linux/amd64, else the first). */
  platform?: Platform | string;
}

/** Write the layout at `layoutDir` as an OCI archive `file` (temp + rename). */
export async function writeArchive(
  _layoutDir: string,
  _file: string,
  _opts: WriteArchiveOptions = {},
): Promise<void> {
  throw new Error('TODO: writeArchive');
}
