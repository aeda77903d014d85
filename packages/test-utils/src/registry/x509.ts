import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A self-signed X.509 certificate built with Node's crypto alone (no openssl): RSA-2048, sha256WithRSAEncryption,
 * v3 with basicConstraints CA:TRUE. Enough for distribution's token auth, which checks the JWT's `x5c` leaf
 * against `rootcertbundle`. DER is written by hand: tag, length, content.
 */
export interface SelfSignedCert {
  /** PEM of the certificate (the `rootcertbundle`). */
  certPem: string;
  /** DER bytes of the certificate (base64 of this goes into the JWT header's `x5c`). */
  certDer: Buffer;
  privateKey: KeyObject;
}

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
const explicit = (n: number, content: Buffer) => der(0xa0 + n, content);
const NULL = Buffer.from([0x05, 0x00]);

function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if ((b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return der(0x02, b);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const v of rest) {
    const groups: number[] = [];
    for (let x = v; ; x = Math.floor(x / 128)) {
      groups.unshift(x & 0x7f);
      if (x < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return der(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return der(0x17, Buffer.from(s, 'ascii'));
}

function name(commonName: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName, 'utf8')))));
}

export function selfSignedCert(commonName = 'scratchpack test token issuer', days = 1): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = seq(oid('1.2.840.113549.1.1.11'), NULL);
  const now = Date.now();
  const basicConstraints = seq(
    oid('2.5.29.19'),
    der(0x01, Buffer.from([0xff])),
    der(0x04, seq(der(0x01, Buffer.from([0xff])))),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(randomBytes(16)),
    sha256WithRsa,
    name(commonName),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + days * 86400_000))),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(basicConstraints)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certDer = seq(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = certDer.toString('base64').replace(/.{64}/g, '$&\n');
  const certPem = `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
  return {
    certPem,
    certDer,
    privateKey: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })),
  };
}
