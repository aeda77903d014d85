/**
 * `push` and `pull` over HTTPS, as to any registry that is not on loopback: Debian's docker-registry serving TLS
 * with a certificate of our own, reached by this machine's host name (not a loopback name, so the client speaks
 * https). The certificate is trusted the way Node is told to trust one (NODE_EXTRA_CA_CERTS); without it the
 * push fails as TLS_ERROR and the registry gets nothing. skopeo (given the certificate) reads what we pushed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describeWithTools, type RunningRegistry, startRegistry, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from './helpers.ts';

describeWithTools(['docker-registry', 'skopeo', 'openssl'], 'push and pull over HTTPS', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let registry: RunningRegistry;
  let certs: string;
  let host: string;
  const trusted = () => ({ NODE_EXTRA_CA_CERTS: join(certs, 'domain.crt') });

  beforeAll(async () => {
    work = await tempDir('push-tls-');
    // The machine's own name: not a loopback name to the client (so https), but it must reach 127.0.0.1.
    const name = hostname();
    const { address } = await lookup(name);
    if (!address.startsWith('127.') && address !== '::1')
      throw new Error(
        `this test reaches the registry as ${name}, which resolves to ${address}: add "127.0.0.1 ${name}" to /etc/hosts`,
      );
    certs = join(work.path, 'certs');
    const server = join(work.path, 'server');
    await mkdir(certs);
    await mkdir(server);
    // The certificate alone in `certs` (skopeo's --cert-dir takes *.crt as CAs, and a *.key there as a client key).
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=scratchpack test registry',
        '-addext',
        `subjectAltName=DNS:${name},IP:127.0.0.1`,
        '-keyout',
        join(server, 'domain.key'),
        '-out',
        join(certs, 'domain.crt'),
      ],
      { stdio: 'ignore' },
    );
    registry = await startRegistry({
      tls: { certificate: join(certs, 'domain.crt'), key: join(server, 'domain.key') },
    });
    host = `${name}:${registry.port}`;
    const root = join(work.path, 'rootfs');
    await mkdir(root);
    await writeFile(join(root, 'hello.txt'), 'hello over TLS\n');
    execFileSync('tar', ['-C', root, '-cf', join(work.path, 'rootfs.tar'), '.']);
    const r = await cli([
      'import',
      join(work.path, 'rootfs.tar'),
      `${join(work.path, 'oci')}:latest`,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
  afterAll(async () => {
    await registry?.stop();
    await work?.cleanup();
  });

  it('refuses a certificate nobody said to trust: TLS_ERROR, nothing stored', async () => {
    const r = await cli(['push', `${join(work.path, 'oci')}:latest`, `${host}/tls/hello:untrusted`]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/TLS_ERROR.*self-signed certificate/);
    expect(r.stderr).toContain('NODE_EXTRA_CA_CERTS');
    expect(r.stderr).toContain(host);
    // The registry's catalog (read trusting the certificate): no repository was made.
    const catalog = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${registry.url}/v2/_catalog`,
        { ca: readFileSync(join(certs, 'domain.crt')) },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(catalog)).toEqual({ repositories: [] });
  }, 60_000);

  it('pushes over https with the certificate trusted; skopeo and pull see the same digest', async () => {
    const pushed = await cli(['push', `${join(work.path, 'oci')}:latest`, `${host}/tls/hello:1`, '--json'], {
      env: trusted(),
    });
    expect(pushed.stderr).toBe('');
    expect(pushed.status).toBe(0);
    const { digest } = JSON.parse(pushed.stdout) as { digest: string };
    // skopeo, trusting the same certificate, gets the manifest whose digest we pushed.
    const raw = execFileSync('skopeo', [
      'inspect',
      '--raw',
      '--cert-dir',
      certs,
      `docker://${host}/tls/hello:1`,
    ]);
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(digest);
    const pulled = await cli(['pull', `${host}/tls/hello:1`, `${join(work.path, 'back')}:latest`, '--json'], {
      env: trusted(),
    });
    expect(pulled.stderr).toBe('');
    expect(pulled.status).toBe(0);
    expect(pulled.stdout).toContain(digest);
  }, 60_000);
});
