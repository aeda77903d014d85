/**
 * Keys for offline signing: PEM PKCS#8 ECDSA P-256 (`openssl genpkey -algorithm EC -pkeyopt
 * ec_paramgen_curve:P-256`), or an encrypted PKCS#8 PEM with a passphrase; the key hint as cosign and
 * sigstore-go compute it. node:crypto only.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { AttestError } from './errors.ts';

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

const spkiSha256 = (key: KeyObject) =>
  createHash('sha256')
    .update((key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' }))
    .digest();

/**
 * The key's hint in a bundle's `verificationMaterial.publicKey.hint`: base64 of the sha256 of its
 * SubjectPublicKeyInfo DER, as cosign (sigstore-go's keypair `GetHint`) writes it.
 */
export function keyId(key: KeyObject): string {
  return spkiSha256(key).toString('base64');
}

/** The hint of the previous (`messageSignature`) format: the same sha256, in hex. */
export function legacyKeyId(key: KeyObject): string {
  return spkiSha256(key).toString('hex');
}
