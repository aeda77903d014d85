/**
 * The previous signature format, still accepted by `verifyBundle` (with a notice): a Sigstore bundle v0.3
 * whose content is a `messageSignature` over the manifest's exact bytes, key hint = hex sha256 of the SPKI.
 * cosign's new-bundle verification goes through DSSE and rejects it; `signSubject` writes DSSE instead.
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { AttestError } from './errors.ts';
import { keyId, legacyKeyId } from './keys.ts';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface SigstoreBundle {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    tlogEntries: unknown[];
    timestampVerificationData?: { rfc3161Timestamps: unknown[] };
  };
  messageSignature?: { messageDigest: { algorithm: string; digest: string }; signature: string };
  dsseEnvelope?: { payload: string; payloadType: string; signatures: { sig: string; keyid?: string }[] };
}

/** A bundle in the previous format (a message signature over `bytes`): for tests of its verification. */
export function messageSignatureBundle(bytes: Buffer, key: KeyObject): SigstoreBundle {
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint: legacyKeyId(key) },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(bytes).digest('base64') },
      signature: sign('sha256', bytes, key).toString('base64'),
    },
  };
}

/** Check a previous-format bundle `b` against the manifest `bytes` and `key`; throws saying what failed. */
export function verifyMessageSignature(b: SigstoreBundle, bytes: Buffer, key: KeyObject, what: string): void {
  const fail = (msg: string, hint?: string): never => {
    throw new AttestError('ATTEST_VERIFY_FAILED', `${what}: ${msg}`, hint);
  };
  const ms = b.messageSignature;
  if (!ms?.signature || !ms.messageDigest) throw fail('the bundle has no message signature');
  const hint = b.verificationMaterial?.publicKey?.hint;
  if (hint && hint !== legacyKeyId(key) && hint !== keyId(key))
    fail(
      `signed with another key (${hint.slice(0, 16)}…), not this one (${legacyKeyId(key).slice(0, 16)}…)`,
      'pass the public key of the key that signed it',
    );
  const digest = createHash('sha256').update(bytes).digest('base64');
  if (ms.messageDigest.algorithm !== 'SHA2_256' || ms.messageDigest.digest !== digest)
    fail(
      'the signature is for other bytes than this manifest',
      'the manifest changed after signing: sign it again',
    );
  if (!verify('sha256', bytes, key, Buffer.from(ms.signature, 'base64')))
    fail('the signature does not verify with this key', 'pass the public key of the key that signed it');
}
