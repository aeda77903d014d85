/** The registry's configuration and the free-port helper, without starting a registry. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, registryConfig } from '../src/index.ts';

describe('registryConfig', () => {
  it('listens on loopback only, stores under the temp dir, allows deletes, no access log', () => {
    const text = registryConfig({ dir: '/tmp/r', port: 5123, secret: 's' });
    expect(text).toBe(
      [
        'version: 0.1',
        'log:',
        '  level: warn',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        '    rootdirectory: /tmp/r/data',
        '  delete:',
        '    enabled: true',
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: false',
        'http:',
        '  addr: 127.0.0.1:5123',
        '  secret: s',
        '',
      ].join('\n'),
    );
  });

  it('appends the auth section and takes a log level; a fresh secret each time by default', () => {
    const auth = 'auth:\n  htpasswd:\n    realm: r\n    path: /tmp/r/htpasswd\n';
    const text = registryConfig({ dir: '/tmp/r', port: 1, logLevel: 'debug', auth });
    expect(text).toContain('  level: debug\n');
    expect(text.endsWith(`\n${auth}`)).toBe(true);
    expect(registryConfig({ dir: '/tmp/r', port: 1 })).not.toBe(registryConfig({ dir: '/tmp/r', port: 1 }));
  });
});

describe('freePort', () => {
  it('gives a loopback port that can be bound', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const srv = createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => srv.close(resolve));
  });
});
