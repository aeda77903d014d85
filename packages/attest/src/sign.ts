/**
 * Offline signing with a key: a Sigstore bundle v0.3 (`messageSignature` over the exact manifest bytes,
 * `verificationMaterial.publicKey.hint` = sha256 of the public key's SPKI DER, no transparency log, no
 * timestamps), stored as an OCI 1.1 referrer of the signed manifest, the way cosign v3 stores bundles.
 * Keys: PEM PKCS#8 ECDSA P-256 (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`), or an
 * encrypted PKCS#8 PEM with a passphrase. Signing and verifying use node:crypto.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { type Artifact, artifact, type Descriptor, sha256 } from '@scratchpack/oci';
import { AttestError } from './errors.ts';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface SigstoreBundle {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    tlogEntries: unknown[];
    timestampVerificationData?: { rfc3161Timestamps: unknown[] };
  };
  messageSignature?: { messageDigest: { algorithm: string; digest: string }; signature: string };
}

function checkP256(key: KeyObject, where: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new AttestError(
      'ATTEST_BAD_KEY',
      `${where}: not an ECDSA P-256 key (${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''})`,
      'make one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem',
    );
  }
}

/** A private key from PEM (PKCS#8, SEC1, or encrypted PKCS#8 with `passphrase`). */
export function loadPrivateKey(pem: string | Buffer, where: string, passphrase?: string): KeyObject {
  const text = pem.toString();
  if (text.includes('SIGSTORE PRIVATE KEY')) {
    throw new AttestError(
      'ATTEST_BAD_KEY',
      `${where}: a cosign-encrypted key, which scratchpack does not read`,
      'export it as PKCS#8 PEM: cosign import-key-pair works the other way; or make a new key with openssl genpkey',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? text : { key: text, passphrase });
  } catch (cause) {
    const encrypted = text.includes('ENCRYPTED');
    throw new AttestError(
      'ATTEST_BAD_KEY',
      `${where}: not a readable private key (${(cause as Error).message})`,
      encrypted
        ? 'the key is encrypted: set COSIGN_PASSWORD to its passphrase'
        : 'pass a PEM private key, e.g. from: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256',
      cause,
    );
  }
  checkP256(key, where);
  return key;
}

/** A public key from PEM (SPKI), or the public half of a private key PEM. */
export function loadPublicKey(pem: string | Buffer, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem.toString());
  } catch (cause) {
    throw new AttestError(
      'ATTEST_BAD_KEY',
      `${where}: not a readable public key (${(cause as Error).message})`,
      'pass the PEM public key: openssl pkey -in key.pem -pubout -out pub.pem',
      cause,
    );
  }
  checkP256(key, where);
  return key;
}

/** The key's id: hex sha256 of its SubjectPublicKeyInfo DER (the bundle's `publicKey.hint`). */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return sha256(pub.export({ type: 'spki', format: 'der' })).hex;
}

/** A Sigstore bundle v0.3 with a message signature over `bytes`. */
export function signBytes(bytes: Buffer, key: KeyObject): SigstoreBundle {
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint: keyId(key) },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: createHash('sha256').update(bytes).digest('base64'),
      },
      signature: sign('sha256', bytes, key).toString('base64'),
    },
  };
}

/** Sign a manifest's exact bytes: the signature referrer whose subject is that manifest. */
export function signatureArtifact(subject: Descriptor, raw: Buffer, key: KeyObject): Artifact {
  if (!sha256(raw).equals(subject.digest))
    throw new AttestError('ATTEST_VERIFY_FAILED', `the bytes to sign are not ${subject.digest}`);
  const bundle = Buffer.from(JSON.stringify(signBytes(raw, key)));
  return artifact({
    artifactType: BUNDLE_MEDIA_TYPE,
    subject,
    layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: bundle }],
    annotations: { 'dev.sigstore.bundle.content': 'message-signature' },
  });
}

/**
 * Check a bundle against the exact bytes it should sign and the public key; throws `AttestError`
 * saying what failed (format, another key, another manifest, a bad signature).
 */
export function verifyBundle(bundleBytes: Buffer, bytes: Buffer, key: KeyObject, what: string): true {
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
  const ms = b.messageSignature;
  if (!ms?.signature || !ms.messageDigest) return fail('the bundle has no message signature');
  const hint = b.verificationMaterial?.publicKey?.hint;
  if (hint && hint !== keyId(key))
    fail(
      `signed with another key (${hint.slice(0, 16)}…), not this one (${keyId(key).slice(0, 16)}…)`,
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
  return true;
}
