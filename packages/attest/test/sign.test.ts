import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_DESCRIPTOR, sha256 } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import {
  BUNDLE_MEDIA_TYPE,
  keyId,
  loadPrivateKey,
  loadPublicKey,
  messageSignatureBundle,
  pae,
  signDigest,
  signSubject,
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
const subject = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: sha256(manifest).toString(),
  size: manifest.length,
};
const json = (x: unknown) => Buffer.from(JSON.stringify(x));

describe('signatures as cosign v3 writes them (DSSE bundle v0.3, cosign sign predicate)', () => {
  it('the referrer, field by field, against cosign WriteAttestationNewBundleFormat and signDigestBundle', () => {
    const k = keyPair();
    const a = signSubject(subject, manifest, loadPrivateKey(k.priv, 'key'), { sourceDateEpoch: 1700000000 });
    expect(a.manifest.artifactType).toBe(BUNDLE_MEDIA_TYPE);
    expect(a.manifest.config).toEqual(EMPTY_DESCRIPTOR);
    expect(a.manifest.subject).toEqual(subject);
    expect(a.manifest.layers.map((l) => l.mediaType)).toEqual([BUNDLE_MEDIA_TYPE]);
    expect(a.manifest.annotations).toEqual({
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
      'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
    });
    const bundle = JSON.parse(a.blobs[1]!.bytes.toString());
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.messageSignature).toBeUndefined();
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(bundle.dsseEnvelope.signatures).toHaveLength(1);
    // The statement exactly as cosign's protojson.Marshal of its intotov1.Statement: no subject name.
    expect(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()).toBe(
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${subject.digest.slice(7)}"}}],` +
        '"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}',
    );
    // The key hint: base64(sha256(SPKI DER)), computed here with openssl, not with our code.
    const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: k.pub });
    const hint = createHash('sha256').update(der).digest('base64');
    expect(bundle.verificationMaterial.publicKey.hint).toBe(hint);
    expect(keyId(loadPublicKey(k.pub, 'pub'))).toBe(hint);
    // The signature is ECDSA-SHA256 over DSSE's PAE, written out here by hand; openssl checks it.
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const signed = Buffer.concat([
      Buffer.from(`DSSEv1 28 application/vnd.in-toto+json ${payload.length} `),
      payload,
    ]);
    expect(pae('application/vnd.in-toto+json', payload).equals(signed)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'sign-test-'));
    try {
      writeFileSync(join(dir, 'pub.pem'), k.pub);
      writeFileSync(join(dir, 'pae'), signed);
      writeFileSync(join(dir, 'sig'), Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64'));
      const out = execFileSync(
        'openssl',
        ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'sig', 'pae'],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      expect(out.trim()).toBe('Verified OK');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the created annotation follows SOURCE_DATE_EPOCH (default 0)', () => {
    const k = loadPrivateKey(keyPair().priv, 'key');
    expect(signSubject(subject, manifest, k).manifest.annotations?.['org.opencontainers.image.created']).toBe(
      '1970-01-01T00:00:00Z',
    );
  });

  it('@sigstore/verify accepts it with the public key; we accept it', () => {
    const k = keyPair();
    const bundle = signDigest(subject.digest, loadPrivateKey(k.priv, 'key'));
    expect(() => sigstoreVerify(bundle, manifest, k.pub)).not.toThrow();
    expect(verifyBundle(json(bundle), manifest, loadPublicKey(k.pub, 'pub'), 'm')).toEqual({
      format: 'dsse',
    });
  });

  it('a wrong key, a changed subject, a changed manifest are refused by @sigstore/verify and by us', () => {
    const k = keyPair();
    const other = keyPair();
    const pub = loadPublicKey(k.pub, 'pub');
    const bundle = signDigest(subject.digest, loadPrivateKey(k.priv, 'key'));
    expect(() => sigstoreVerify(bundle, manifest, other.pub)).toThrow();
    expect(() => verifyBundle(json(bundle), manifest, loadPublicKey(other.pub, 'o'), 'm')).toThrow(
      /another key/,
    );
    // The same hint with another key's signature: the signature check itself fails.
    const forged = structuredClone(bundle);
    forged.dsseEnvelope!.signatures = signDigest(subject.digest, loadPrivateKey(other.priv, 'o'))
      .dsseEnvelope!.signatures;
    expect(() => sigstoreVerify(forged, manifest, k.pub)).toThrow();
    expect(() => verifyBundle(json(forged), manifest, pub, 'm')).toThrow(/does not verify/);
    // The statement's subject changed after signing.
    const moved = structuredClone(bundle);
    const st = Buffer.from(moved.dsseEnvelope!.payload, 'base64').toString();
    moved.dsseEnvelope!.payload = Buffer.from(st.replace(/"sha256":"[0-9a-f]/, '"sha256":"x')).toString(
      'base64',
    );
    expect(() => sigstoreVerify(moved, manifest, k.pub)).toThrow();
    expect(() => verifyBundle(json(moved), manifest, pub, 'm')).toThrow(/does not verify/);
    // The manifest changed (the signature is for the old one).
    const changed = Buffer.from(manifest.toString().replace('2', '3'));
    expect(() => sigstoreVerify(bundle, changed, k.pub)).toThrow(/subject/);
    expect(() => verifyBundle(json(bundle), changed, pub, 'm')).toThrow(/another manifest/);
    // Another predicate, properly signed: not a cosign image signature.
    const stmt = Buffer.from(st.replace('cosign/sign/v1', 'cosign/other/v1'));
    const other2 = structuredClone(bundle);
    other2.dsseEnvelope!.payload = stmt.toString('base64');
    other2.dsseEnvelope!.signatures = [
      {
        sig: sign(
          'sha256',
          pae('application/vnd.in-toto+json', stmt),
          loadPrivateKey(k.priv, 'key'),
        ).toString('base64'),
      },
    ];
    expect(() => verifyBundle(json(other2), manifest, pub, 'm')).toThrow(/predicateType/);
    const unsigned = structuredClone(bundle);
    unsigned.dsseEnvelope!.signatures = [];
    expect(() => sigstoreVerify(unsigned, manifest, k.pub)).toThrow();
    expect(() => verifyBundle(json(unsigned), manifest, pub, 'm')).toThrow(/0 signatures/);
  });

  it('the previous format (message signature, hex hint) still verifies, reported as such', () => {
    const k = keyPair();
    const old = messageSignatureBundle(manifest, loadPrivateKey(k.priv, 'key'));
    const pub = loadPublicKey(k.pub, 'pub');
    expect(verifyBundle(json(old), manifest, pub, 'm')).toEqual({ format: 'message-signature' });
    const changed = Buffer.from(manifest.toString().replace('2', '3'));
    expect(() => verifyBundle(json(old), changed, pub, 'm')).toThrow(/other bytes/);
    expect(() => verifyBundle(json(old), manifest, loadPublicKey(keyPair().pub, 'o'), 'm')).toThrow(
      /another key/,
    );
  });

  it('refuses bytes that are not the subject', () => {
    const k = loadPrivateKey(keyPair().priv, 'key');
    expect(() => signSubject(subject, Buffer.from('x'), k)).toThrow(/not sha256/);
  });

  it('reads keys as openssl writes them; refuses other curves with a hint', () => {
    const pem = execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      {
        encoding: 'utf8',
      },
    );
    expect(pem).toContain('BEGIN PRIVATE KEY');
    const key = loadPrivateKey(pem, 'key.pem');
    expect(keyId(key)).toMatch(/^[A-Za-z0-9+/]{43}=$/);
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
    expect(keyId(loadPrivateKey(enc, 'e.pem', 'pw'))).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });
});
