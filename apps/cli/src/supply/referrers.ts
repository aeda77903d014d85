/** Referrers for `inspect`: every referrer of the given digests in a source, and referrers of those. */
import type { Descriptor } from '@scratchpack/oci';
import type { Source } from '@scratchpack/transport';

/** Every referrer of `digests` (and of those), each with the digest it refers to, each once. */
export async function referrersOf(
  source: Source,
  digests: string[],
): Promise<{ subject: string; descriptor: Descriptor }[]> {
  const out: { subject: string; descriptor: Descriptor }[] = [];
  const queue = [...digests];
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    for (const r of await source.referrers(d)) {
      if (out.some((o) => o.descriptor.digest === r.digest)) continue;
      out.push({ subject: d, descriptor: r });
      queue.push(r.digest);
    }
  }
  return out;
}
