/** `pull`/`push` against a registry that never answers: a notice while waiting, then a clear error, in seconds. */
import { type HostileRegistry, startHostileRegistry, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeoutMs, waitNotice } from '../src/registry-options.ts';
import { cli } from './helpers.ts';

let server: HostileRegistry;
beforeAll(async () => {
  server = await startHostileRegistry({ rules: [{ path: '/manifests/', action: { silent: true } }] });
});
afterAll(() => server?.stop());

describe('registry timeouts in the CLI', () => {
  it('pull --timeout: notices while waiting, then REGISTRY_TIMEOUT naming the registry', async () => {
    const { path, cleanup } = await tempDir('cli-timeout-');
    try {
      const started = Date.now();
      const r = await cli(['pull', `${server.host}/stuck/img:latest`, `${path}/oci`, '--timeout', '1.5'], {
        timeout: 60_000,
      });
      const took = Date.now() - started;
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`waiting for ${server.host}: no answer to GET /v2/stuck/img/manifests/latest for \\d+ s`),
      );
      expect(r.stderr).toMatch(
        new RegExp(`error \\[REGISTRY_TIMEOUT\\]: ${server.host} stalled: no response`),
      );
      expect(r.stderr).toMatch(/hint: .*--timeout/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      // a notice every third of the timeout, each printed once
      const notices = r.stderr.split('\n').filter((l) => l.startsWith('waiting for'));
      expect(notices.length).toBeGreaterThanOrEqual(1);
      expect(notices.length).toBeLessThanOrEqual(3);
      expect(took).toBeLessThan(30_000);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('SCRATCHPACK_REGISTRY_TIMEOUT sets it too; a bad value is a usage error', async () => {
    const { path, cleanup } = await tempDir('cli-timeout-');
    try {
      const r = await cli(['pull', `${server.host}/stuck/img:latest`, `${path}/oci`], {
        env: { SCRATCHPACK_REGISTRY_TIMEOUT: '1' },
        timeout: 60_000,
      });
      expect(r.stderr).toContain('[REGISTRY_TIMEOUT]');
      expect(r.stderr).toContain('(timeout 1 s)');
      const bad = await cli(['pull', `${server.host}/stuck/img:latest`, `${path}/oci`, '--timeout', 'soon']);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--timeout "soon": expected a number of seconds/);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('parses seconds and formats the notice', () => {
    expect(timeoutMs('2.5', undefined)).toBe(2500);
    expect(timeoutMs(undefined, '40')).toBe(40_000);
    expect(timeoutMs(undefined, undefined)).toBeUndefined();
    expect(() => timeoutMs('0', undefined)).toThrow(/above 0/);
    expect(() => timeoutMs(undefined, '-3')).toThrow(/SCRATCHPACK_REGISTRY_TIMEOUT "-3"/);
    expect(
      waitNotice({
        type: 'wait',
        registry: 'r.example:5000',
        method: 'GET',
        url: 'http://r.example:5000/v2/a/blobs/sha256:1',
        phase: 'body',
        waitedMs: 10_400,
        timeoutMs: 30_000,
      }),
    ).toBe(
      'waiting for r.example:5000: next to nothing received for GET /v2/a/blobs/sha256:1 for 10 s (giving up after 30 s; --timeout to change)',
    );
  });
});
