/** Referrers for `inspect`: every referrer of the given digests in a source, and referrers of those. */
import type { Descriptor } from '@scratchpack/oci';
import type { Source } from '@scratchpack/transport';

/** Every referrer of `digests` (and of those), each with the digest it refers to, each once. */
export function referrersOf(
  source: Source,
  digests: string[],
): Promise<{ subject: string; descriptor: Descriptor }[]> {
  return source.referrersOf(digests);
}
