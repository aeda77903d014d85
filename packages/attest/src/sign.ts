/**
 * Offline signing with a key, as cosign v3 signs (`cosign sign --key`, new bundle format): an in-toto
 * Statement v1 whose subject is the signed manifest's digest and whose predicateType is
 * `https://sigstore.dev/cosign/sign/v1` (empty predicate), in a DSSE envelope (payloadType
 * `application/vnd.in-toto+json`, ECDSA P-256 over the PAE), in a Sigstore bundle v0.3 whose key hint is
 * base64(sha256(SPKI DER)); no transparency log, no timestamps. Stored as an OCI 1.1 referrer of the
 * signed manifest with the annotations cosign's `WriteAttestationNewBundleFormat` writes
 * (`dev.sigstore.bundle.content: dsse-envelope`, `dev.sigstore.bundle.predicateType`,
 * `org.opencontainers.image.created` — from SOURCE_DATE_EPOCH here, not the clock).
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { type Artifact, artifact, type Descriptor, Digest, rfc3339, sha256 } from '@scratchpack/oci';
import { AttestError } from './errors.ts';
import { keyId } from './keys.ts';
import { BUNDLE_MEDIA_TYPE, type SigstoreBundle, verifyMessageSignature } from './legacy-signature.ts';
import { IN_TOTO_MEDIA_TYPE, IN_TOTO_STATEMENT } from './provenance.ts';

export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

/** DSSE's pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

/** The statement cosign signs for a manifest digest (`sha256:<hex>`), as protojson orders its fields. */
export function cosignSignStatement(digest: string): Buffer {
  const { hex } = Digest.parse(digest);
  return Buffer.from(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT,
      subject: [{ digest: { sha256: hex } }],
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      predicate: {},
    }),
  );
}

/** A Sigstore bundle v0.3: the DSSE-signed cosign statement about `digest`. */
export function signDigest(digest: string, key: KeyObject): SigstoreBundle {
  const payload = cosignSignStatement(digest);
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint: keyId(key) },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: IN_TOTO_MEDIA_TYPE,
      signatures: [{ sig: sign('sha256', pae(IN_TOTO_MEDIA_TYPE, payload), key).toString('base64') }],
    },
  };
}

/**
 * Sign a manifest (`raw`, its exact bytes, named by `subject`): the signature referrer, as cosign v3 writes it.
 * `sourceDateEpoch` (seconds, default 0) gives `org.opencontainers.image.created`.
 */
export function signSubject(
  subject: Descriptor,
  raw: Buffer,
  key: KeyObject,
  opts: { sourceDateEpoch?: number } = {},
): Artifact {
  if (!sha256(raw).equals(subject.digest))
    throw new AttestError('ATTEST_VERIFY_FAILED', `the bytes to sign are not ${subject.digest}`);
  return artifact({
    artifactType: BUNDLE_MEDIA_TYPE,
    subject,
    layers: [
      { mediaType: BUNDLE_MEDIA_TYPE, bytes: Buffer.from(JSON.stringify(signDigest(subject.digest, key))) },
    ],
    annotations: {
      [BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope',
      [BUNDLE_PREDICATE_TYPE_ANNOTATION]: COSIGN_SIGN_PREDICATE_TYPE,
      'org.opencontainers.image.created': rfc3339(opts.sourceDateEpoch ?? 0),
    },
  });
}

export interface Verified {
  /** `dsse`: as cosign v3 signs; `message-signature`: the previous format (verify prints a notice). */
  format: 'dsse' | 'message-signature';
}

/**
 * Check a signature bundle against the manifest it should sign (`bytes`, its exact bytes) and the public key:
 * the DSSE signature over the PAE, the statement's type, predicateType and subject digest. Bundles of the
 * previous format (`messageSignature`) are checked as before. Throws `AttestError` saying what failed.
 */
export function verifyBundle(bundleBytes: Buffer, bytes: Buffer, key: KeyObject, what: string): Verified {
  const fail = (msg: string, hint?: string): never => {
    throw new AttestError('ATTEST_VERIFY_FAILED', `${what}: ${msg}`, hint);
  };
  let b: SigstoreBundle;
  try {
    b = JSON.parse(bundleBytes.toString('utf8')) as SigstoreBundle;
  } catch {
    b = fail('the signature bundle is not JSON');
  }
  if (b.mediaType !== BUNDLE_MEDIA_TYPE)
    fail(`bundle media type ${b.mediaType}, expected ${BUNDLE_MEDIA_TYPE}`);
  if (!b.dsseEnvelope && b.messageSignature) {
    verifyMessageSignature(b, bytes, key, what);
    return { format: 'message-signature' };
  }
  const env = b.dsseEnvelope;
  if (!env) return fail('the bundle has neither a DSSE envelope nor a message signature');
  if (env.payloadType !== IN_TOTO_MEDIA_TYPE)
    fail(`DSSE payloadType ${env.payloadType}, expected ${IN_TOTO_MEDIA_TYPE}`);
  const hint = b.verificationMaterial?.publicKey?.hint;
  if (hint && hint !== keyId(key))
    fail(
      `signed with another key (${hint}), not this one (${keyId(key)})`,
      'pass the public key of the key that signed it',
    );
  if (env.signatures?.length !== 1 || !env.signatures[0]?.sig)
    fail(`the DSSE envelope has ${env.signatures?.length ?? 0} signatures, expected 1`);
  const payload = Buffer.from(env.payload ?? '', 'base64');
  if (!verify('sha256', pae(env.payloadType, payload), key, Buffer.from(env.signatures[0]!.sig, 'base64')))
    fail('the signature does not verify with this key', 'pass the public key of the key that signed it');
  let st: { _type?: string; predicateType?: string; subject?: { digest?: { sha256?: string } }[] };
  try {
    st = JSON.parse(payload.toString('utf8'));
  } catch {
    st = fail('the signed payload is not an in-toto statement (not JSON)');
  }
  if (st._type !== IN_TOTO_STATEMENT)
    fail(`the signed statement's _type is ${st._type}, expected ${IN_TOTO_STATEMENT}`);
  if (st.predicateType !== COSIGN_SIGN_PREDICATE_TYPE)
    fail(
      `the signed statement's predicateType is ${st.predicateType}, expected ${COSIGN_SIGN_PREDICATE_TYPE}`,
    );
  const want = sha256(bytes).hex;
  if (!st.subject?.some((s) => s.digest?.sha256 === want))
    fail(
      `the signature is for another manifest (${st.subject?.map((s) => s.digest?.sha256).join(', ')}), not sha256:${want}`,
      'the manifest changed after signing: sign it again',
    );
  return { format: 'dsse' };
}
