/** A real docker-registry on loopback: it answers /v2/, writes its log, and `stop()` ends it and removes its dir. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startLocalRegistry } from '../src/index.ts';

// Not @scratchpack/test-utils (it builds on this package): the same rule, skipped locally, failing under CI.
const present = spawnSync('docker-registry', ['--version']).status === 0;
const isCI = /^(true|1)$/i.test(process.env.CI ?? '');

describe.skipIf(!present && !isCI)('startLocalRegistry (needs docker-registry)', () => {
  it('serves the distribution API on 127.0.0.1 until stopped', async () => {
    let stopped = 0;
    const registry = await startLocalRegistry({
      logLevel: 'info',
      onStop: async () => {
        stopped++;
      },
    });
    expect(registry.url).toBe(`http://127.0.0.1:${registry.port}`);
    expect(registry.host).toBe(`127.0.0.1:${registry.port}`);
    const res = await fetch(`${registry.url}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(typeof registry.logs()).toBe('string');
    // Its CPU time grows with the requests it serves (uploads cost it file writes and hashing).
    const before = registry.cpuSeconds();
    expect(before).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 200; i++) {
      const post = await fetch(`${registry.url}/v2/cpu/blobs/uploads/`, { method: 'POST' });
      expect(post.status).toBe(202);
    }
    expect(registry.cpuSeconds()).toBeGreaterThan(before);
    await registry.stop();
    expect(stopped).toBe(1);
    expect(existsSync(registry.dir)).toBe(false);
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });

  it('puts the auth section its caller makes into the config', async () => {
    const registry = await startLocalRegistry({
      auth: async () => 'auth:\n  silly:\n    realm: scratchpack-test\n    service: local\n',
    });
    try {
      const res = await fetch(`${registry.url}/v2/`);
      expect(res.status).toBe(401);
    } finally {
      await registry.stop();
    }
  });
});
