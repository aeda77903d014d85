/** Test helpers: a `.deb` made in memory (ar + gzip tars) and a local HTTP server serving files as a mirror. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { sha256 } from '@scratchpack/oci';
import tar from 'tar-stream';
import type { Lock, LockedPackage } from '../src/lock.ts';

type Member =
  | { path: string; content: string; mode?: number }
  | { path: string; symlink: string }
  | { path: string; dir: true };

async function tarOf(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const m of members) {
    const name = `./${m.path}`;
    if ('dir' in m) pack.entry({ name: `${name}/`, type: 'directory', mode: 0o755 });
    else if ('symlink' in m) pack.entry({ name, type: 'symlink', linkname: m.symlink, mode: 0o777 });
    else pack.entry({ name, mode: m.mode ?? 0o644 }, m.content);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function ar(members: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const [name, body] of members) {
    const h = `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(body.length).padEnd(10)}\`\n`;
    parts.push(Buffer.from(h, 'latin1'), body);
    if (body.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

export async function makeDeb(name: string, version: string, data: Member[]): Promise<Buffer> {
  const control = `Package: ${name}\nVersion: ${version}\nArchitecture: all\nDescription: test\n`;
  return ar([
    ['debian-binary', Buffer.from('2.0\n')],
    ['control.tar.gz', gzipSync(await tarOf([{ path: 'control', content: control }]))],
    ['data.tar.gz', gzipSync(await tarOf(data))],
  ]);
}

export const CERT = (n: number, newline = true) =>
  `-----BEGIN CERTIFICATE-----\nCERT${n}\n-----END CERTIFICATE-----${newline ? '\n' : ''}`;

/** Four small packages shaped like the real ones, and a lock pinning them. */
export async function fakePackages(): Promise<{ debs: Map<string, Buffer>; lock: Lock }> {
  const debs = new Map<string, Buffer>([
    [
      'ca-certificates',
      await makeDeb('ca-certificates', '1', [
        { path: 'usr/sbin/update-ca-certificates', content: '#!/bin/sh\n', mode: 0o755 },
        { path: 'usr/share/ca-certificates/mozilla/B.crt', content: CERT(2, false) },
        { path: 'usr/share/ca-certificates/mozilla/A.crt', content: CERT(1) },
        { path: 'usr/share/doc/ca-certificates/copyright', content: 'License: MPL-2.0\n' },
        { path: 'usr/share/doc/ca-certificates/changelog.gz', content: 'x' },
      ]),
    ],
    [
      'netbase',
      await makeDeb('netbase', '6.4', [
        { path: 'etc', dir: true },
        { path: 'etc/services', content: 'https 443/tcp\n' },
        { path: 'etc/protocols', content: 'tcp 6 TCP\n' },
      ]),
    ],
    [
      'tzdata',
      await makeDeb('tzdata', '2026a-0+deb12u1', [
        { path: 'usr/share/zoneinfo/Europe/Paris', content: 'TZif' },
        { path: 'usr/share/zoneinfo/Europe/Monaco', symlink: 'Paris' },
        { path: 'usr/share/doc/tzdata/copyright', content: 'License: public-domain\n' },
      ]),
    ],
  ]);
  const packages: LockedPackage[] = [...debs].map(([name, bytes]) => ({
    name,
    version: name === 'tzdata' ? '2026a-0+deb12u1' : name === 'netbase' ? '6.4' : '1',
    architecture: 'all',
    suite: name === 'tzdata' ? 'bookworm-security' : 'bookworm',
    filename: `pool/main/${name[0]}/${name}/${name}_all.deb`,
    size: bytes.length,
    sha256: sha256(bytes).hex,
  }));
  return {
    debs,
    lock: {
      distribution: { id: 'debian', versionId: '12', codename: 'bookworm' },
      suites: ['bookworm', 'bookworm-security'],
      packages,
    },
  };
}

/** Serve `files` (path → bytes) over HTTP on localhost; every request path is recorded. */
export async function serve(
  files: Map<string, Buffer>,
): Promise<{ url: string; requests: string[]; close(): Promise<void>; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '');
    requests.push(path);
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/debian`,
    requests,
    server,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The mirror's files for a lock: `/debian/<filename>` → bytes. */
export function mirrorFiles(lock: Lock, debs: Map<string, Buffer>): Map<string, Buffer> {
  return new Map(lock.packages.map((p) => [`/debian/${p.filename}`, debs.get(p.name)!]));
}
