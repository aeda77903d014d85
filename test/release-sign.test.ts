/** `pnpm release:sign`: without the secret it signs nothing and says so; with a key it signs and verifies. */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  appendLayers,
  imageIndex,
  layerFromEntries,
  scratch,
  withConfig,
  withPlatform,
  writeLayout,
} from '@scratchpack/oci';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { scratchpack } from '../scripts/release-common.ts';
import { releaseSign } from '../scripts/release-sign.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('release-sign-'));
  const layer = layerFromEntries([{ type: 'file', path: 'hello', content: 'hi', mode: 0o755 }]);
  const img = await withPlatform(
    await withConfig(await appendLayers(scratch, { layer }), { Cmd: ['/hello'] }),
    {
      os: 'linux',
      architecture: 'amd64',
    },
  );
  await writeLayout(join(dir, 'oci'), imageIndex([{ image: img }]), { tags: ['latest'] });
});
afterEach(() => cleanup());

describe('release:sign', () => {
  it('without SIGNING_KEY: a GitHub notice, nothing signed, success', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const before = await readFile(join(dir, 'oci', 'index.json'));
    const signed = await releaseSign({
      IMAGE_LAYOUT: `${dir}/oci:latest`,
      GITHUB_ACTIONS: 'true',
      SIGNING_KEY: '',
    });
    expect(signed).toBe(false);
    expect(log.mock.calls[0]![0]).toMatch(/^::notice title=Image not signed::.*SCRATCHPACK_SIGNING_KEY/);
    expect((await readFile(join(dir, 'oci', 'index.json'))).equals(before)).toBe(true);
    log.mockRestore();
  });

  it('with a key: signs the layout, which then verifies with the public key only', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const signed = await releaseSign({
      IMAGE_LAYOUT: `${dir}/oci:latest`,
      SIGNING_KEY: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    write.mockRestore();
    expect(signed).toBe(true);
    await writeFile(join(dir, 'pub.pem'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    const r = scratchpack(['verify', `${dir}/oci:latest`, '--key', join(dir, 'pub.pem')]);
    expect(r.stderr).toBe('');
    expect(r.stdout.match(/^verified /gm)).toHaveLength(2);
  });
});
