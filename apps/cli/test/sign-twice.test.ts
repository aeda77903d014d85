/** Signing twice with the same key adds no second signature; another key adds its own. */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';
import { tarOf } from './tar-fixtures.ts';

async function signatures(layout: string): Promise<number> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { artifactType?: string }[];
  };
  return index.manifests.filter((m) => m.artifactType?.includes('sigstore.bundle')).length;
}

function keyPem(path: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }));
}

describe('sign', () => {
  it('is idempotent per key: a second run with the same key adds nothing and says so', async () => {
    const { path, cleanup } = await tempDir('cli-sign-twice-');
    try {
      const layout = join(path, 'oci');
      const imported = await cli(['import', '-', `${layout}:latest`, '--platform', 'linux/amd64'], {
        input: tarOf([{ name: 'f', content: 'x' }]),
      });
      expect(imported.status, imported.stderr).toBe(0);
      await keyPem(join(path, 'a.pem'));
      await keyPem(join(path, 'b.pem'));
      const first = await cli(['sign', `${layout}:latest`, '--key', join(path, 'a.pem')]);
      expect(first.status, first.stderr).toBe(0);
      const once = await signatures(layout);
      expect(once).toBe(2); // the index and its one platform manifest
      const again = await cli(['sign', `${layout}:latest`, '--key', join(path, 'a.pem'), '--json']);
      expect(again.status, again.stderr).toBe(0);
      const out = JSON.parse(again.stdout) as { signed: unknown[]; alreadySigned: unknown[] };
      expect([out.signed.length, out.alreadySigned.length]).toEqual([0, 2]);
      expect(await signatures(layout)).toBe(once);
      const other = await cli(['sign', `${layout}:latest`, '--key', join(path, 'b.pem')]);
      expect(other.status, other.stderr).toBe(0);
      expect(await signatures(layout)).toBe(2 * once);
    } finally {
      await cleanup();
    }
  }, 90_000);
});
