/**
 * One broken entry of the store's index.json (a digest `sha256:../../../etc/passwd`) is skipped with a notice:
 * the other images list, open and save; the broken name gives STORE_ENTRY_INVALID; `rmi` removes it; its path
 * is never followed. Also docker's name rules: 255 characters at most, a 64-hex name is an ID, and a full
 * digest always wins over a tag spelt like it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  emptyImage,
  ImageStore,
  imageIndex,
  layerFromEntries,
  parseImageName,
  REF_NAME,
  readLayout,
} from '../src/index.ts';

async function image(text: string) {
  const base = emptyImage({ platform: { os: 'linux', architecture: 'amd64' } });
  const layer = layerFromEntries([{ path: 'f', type: 'file', mode: 0o644, content: Buffer.from(text) }], {
    sourceDateEpoch: 0,
  });
  return imageIndex([{ image: await appendLayers(base, { layer }) }]);
}

let work: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  work = await tempDir('store-broken-');
});
afterEach(() => work.cleanup());

async function storeWithBrokenEntry() {
  const notices: string[] = [];
  const store = new ImageStore(join(work.path, 'store'), { onSkipped: (n) => notices.push(n) });
  await store.put(await image('good'), ['good']);
  const file = join(store.dir, 'index.json');
  const index = JSON.parse(await readFile(file, 'utf8'));
  index.manifests.push({
    ...index.manifests[0],
    digest: 'sha256:../../../etc/passwd',
    annotations: { [REF_NAME]: 'evil:latest' },
  });
  await writeFile(file, JSON.stringify(index));
  return { store, notices, file };
}

describe('a broken entry in the store index', () => {
  it('is skipped with one notice naming it and the fix; the other images list, open and resolve', async () => {
    const { store, notices, file } = await storeWithBrokenEntry();
    expect((await store.list()).map((i) => i.name)).toEqual(['good:latest']);
    await store.list();
    expect(notices).toEqual([
      `skipped the entry for evil:latest of ${file}: manifests[1].digest: expected "<algorithm>:<hex>", got "sha256:../../../etc/passwd"; \`scratchpack rmi evil:latest\` removes it`,
    ]);
    const opened = await store.open('good');
    expect(opened.image.name).toBe('good:latest');
    // The store as a layout (what save, referrers and inspect read): the good entry, the broken one set aside.
    const layout = await readLayout(store.dir);
    expect(layout.skipped?.map((s) => s.name)).toEqual(['evil:latest']);
    expect((await layout.index()).manifests.map((m) => m.digest)).not.toContain('sha256:../../../etc/passwd');
    await expect(layout.descriptor('evil:latest')).rejects.toMatchObject({ code: 'OCI_INVALID_DOCUMENT' });
  });

  it('the broken name: STORE_ENTRY_INVALID saying how to fix it; rmi removes it without following it', async () => {
    const { store, file } = await storeWithBrokenEntry();
    await expect(store.find('evil')).rejects.toMatchObject({
      code: 'STORE_ENTRY_INVALID',
      message: `the local store's entry for evil:latest is broken (${file}: manifests[1].digest: expected "<algorithm>:<hex>", got "sha256:../../../etc/passwd")`,
      hint: `remove the name with \`scratchpack rmi evil:latest\` and store the image again, or fix the entry in ${file}`,
    });
    const r = await store.remove(['evil']);
    expect(r.removed).toEqual(['evil:latest']);
    expect(r.blobsRemoved).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8')).manifests).toHaveLength(1);
    expect((await store.open('good')).image.name).toBe('good:latest');
  });
});

describe('names by docker’s rules', () => {
  it('at most 255 characters; a 64-hex name is an image ID', () => {
    expect(() => parseImageName(`a/${'b'.repeat(250)}`)).toThrow(
      /262 characters in docker.io\/a\/b+: docker's limit is 255/,
    );
    expect(parseImageName(`a/${'b'.repeat(230)}`).path).toHaveLength(232);
    expect(() => parseImageName('f'.repeat(64))).toThrow(/reads as an image ID/);
    try {
      parseImageName('x'.repeat(300));
    } catch (e) {
      expect((e as { code: string }).code).toBe('STORE_INVALID_NAME');
    }
    expect.assertions(4);
  });

  it('a full digest always means that digest; a shorter hex prefix is a name first (docker rmi)', async () => {
    const store = new ImageStore(join(work.path, 'store'));
    const a = await store.put(await image('a'), ['a']);
    const b = await store.put(await image('b'), ['b']);
    const hexA = a.descriptor.digest.slice(7);
    // b is tagged as a's full digest and as a prefix of it.
    await store.tag('b', [`sha256:${hexA}`, hexA.slice(0, 12)]);
    expect((await store.find(`sha256:${hexA}`)).descriptor.digest).toBe(a.descriptor.digest);
    expect((await store.find(hexA)).descriptor.digest).toBe(a.descriptor.digest);
    expect((await store.find(hexA.slice(0, 12))).descriptor.digest).toBe(b.descriptor.digest);
    const r = await store.remove([`sha256:${hexA}`]);
    expect(r.removed).toEqual(['a:latest']);
  });
});
