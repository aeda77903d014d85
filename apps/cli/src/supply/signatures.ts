/** Signature referrers of a subject checked against a public key (verify; sign, to add no duplicate). */
import type { KeyObject } from 'node:crypto';
import { AttestError, BUNDLE_MEDIA_TYPE, verifyBundle } from '@scratchpack/attest';
import { warn } from '../safe-text.ts';
import type { Subject, SupplyTarget } from './target.ts';

/**
 * Why `s` has no valid signature, or undefined when one verifies. `quiet`: a signature in the previous format
 * (a message signature) does not count, and is not reported.
 */
export async function check(
  target: SupplyTarget,
  s: Subject,
  key: KeyObject,
  opts: { quiet?: boolean } = {},
) {
  const what = `${s.what} ${s.descriptor.digest}`;
  const sigs = await target.referrers(s.descriptor.digest, BUNDLE_MEDIA_TYPE);
  if (sigs.length === 0) return `${what}: no signature`;
  const reasons: string[] = [];
  for (const d of sigs) {
    const a = await target.artifact(d);
    const bundle = a.blobs.find((b) => b.descriptor.mediaType === BUNDLE_MEDIA_TYPE);
    try {
      if (!bundle)
        throw new AttestError('ATTEST_VERIFY_FAILED', `${what}: signature ${d.digest} has no bundle`);
      const format = verifyBundle(bundle.bytes, s.raw, key, what).format;
      if (format === 'message-signature' && opts.quiet) continue;
      if (format === 'message-signature')
        warn(
          `notice: ${what} carries a signature in scratchpack's previous format (a message signature, which cosign does not verify); sign it again for cosign\n`,
        );
      return undefined;
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  return reasons.join('; ');
}
