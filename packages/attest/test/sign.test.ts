import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { sha256 } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import {
  BUNDLE_MEDIA_TYPE,
  keyId,
  loadPrivateKey,
  loadPublicKey,
  signatureArtifact,
  signBytes,
  verifyBundle,
} from '../src/index.ts';
import { sigstoreVerify } from './helpers.ts';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    priv: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    pub: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');

describe('signatures (Sigstore bundle v0.3, message signature)', () => {
  it('@sigstore/verify accepts our bundle with the public key', () => {
    const k = keyPair();
    const bundle = signBytes(manifest, loadPrivateKey(k.priv, 'key'));
    expect(bundle.mediaType).toBe(BUNDLE_MEDIA_TYPE);
    expect(() => sigstoreVerify(bundle, manifest, k.pub)).not.toThrow();
    expect(() =>
      verifyBundle(Buffer.from(JSON.stringify(bundle)), manifest, loadPublicKey(k.pub, 'pub'), 'm'),
    ).not.toThrow();
  });

  it('a wrong key, a changed manifest and a missing signature are refused, by @sigstore/verify and by us', () => {
    const k = keyPair();
    const other = keyPair();
    const bundle = signBytes(manifest, loadPrivateKey(k.priv, 'key'));
    const bytes = Buffer.from(JSON.stringify(bundle));
    const changed = Buffer.from(manifest.toString().replace('2', '3'));
    expect(() => sigstoreVerify(bundle, manifest, other.pub)).toThrow();
    expect(() => verifyBundle(bytes, manifest, loadPublicKey(other.pub, 'pub'), 'm')).toThrow(/another key/);
    expect(() => sigstoreVerify(bundle, changed, k.pub)).toThrow();
    expect(() => verifyBundle(bytes, changed, loadPublicKey(k.pub, 'pub'), 'm')).toThrow(/other bytes/);
    // The same key hint with another key's signature: the signature check itself fails.
    const forged = {
      ...bundle,
      messageSignature: signBytes(manifest, loadPrivateKey(other.priv, 'k2')).messageSignature,
    };
    expect(() => sigstoreVerify(forged, manifest, k.pub)).toThrow();
    expect(() =>
      verifyBundle(Buffer.from(JSON.stringify(forged)), manifest, loadPublicKey(k.pub, 'pub'), 'm'),
    ).toThrow(/does not verify/);
    const unsigned = { ...bundle, messageSignature: { ...bundle.messageSignature!, signature: '' } };
    expect(() => sigstoreVerify(unsigned, manifest, k.pub)).toThrow();
    expect(() =>
      verifyBundle(Buffer.from(JSON.stringify(unsigned)), manifest, loadPublicKey(k.pub, 'pub'), 'm'),
    ).toThrow(/no message signature/);
  });

  it('reads keys as openssl writes them; refuses other curves with a hint', () => {
    let pem: string;
    try {
      pem = execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], {
        encoding: 'utf8',
      });
    } catch {
      pem = keyPair().priv; // no openssl: node writes the same PKCS#8 PEM
    }
    expect(pem).toContain('BEGIN PRIVATE KEY');
    const key = loadPrivateKey(pem, 'key.pem');
    expect(keyId(key)).toMatch(/^[0-9a-f]{64}$/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(() => loadPrivateKey(rsa, 'rsa.pem')).toThrow(/rsa.pem: not an ECDSA P-256 key/);
    expect(() => loadPrivateKey('junk', 'j.pem')).toThrow(/j.pem: not a readable private key/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(() => loadPrivateKey(p384, 'k.pem')).toThrow(/P-256/);
    const enc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pw',
    });
    expect(() => loadPrivateKey(enc, 'e.pem')).toThrow(/not a readable private key/);
    expect(keyId(loadPrivateKey(enc, 'e.pem', 'pw'))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a signature referrer has the bundle artifact type and the signed manifest as subject', () => {
    const k = keyPair();
    const subject = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(manifest).toString(),
      size: manifest.length,
    };
    const a = signatureArtifact(subject, manifest, loadPrivateKey(k.priv, 'key'));
    expect(a.manifest.artifactType).toBe(BUNDLE_MEDIA_TYPE);
    expect(a.manifest.layers[0]!.mediaType).toBe(BUNDLE_MEDIA_TYPE);
    expect(a.manifest.subject).toEqual(subject);
    expect(() => sigstoreVerify(JSON.parse(a.blobs[1]!.bytes.toString()), manifest, k.pub)).not.toThrow();
    expect(() => signatureArtifact(subject, Buffer.from('x'), loadPrivateKey(k.priv, 'key'))).toThrow(
      /not sha256/,
    );
  });
});
