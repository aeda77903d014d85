import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { layerFiles, layerFromEntries, sha256 } from '../src/index.ts';

describe('layerFiles', () => {
  it('lists the regular files a layer adds with their sha256 and sha1; directories, links and whiteouts are not files', async () => {
    const layer = layerFromEntries([
      { type: 'dir', path: 'etc', mode: 0o755 },
      { type: 'file', path: 'etc/note', content: 'a note\n', mode: 0o644 },
      { type: 'file', path: 'hello', content: 'binary', mode: 0o755 },
      { type: 'symlink', path: 'link', target: 'hello' },
      { type: 'whiteout', path: 'gone' },
    ]);
    const files = await layerFiles(layer);
    expect(files).toEqual([
      {
        path: 'etc/note',
        size: 7,
        sha256: sha256('a note\n').hex,
        sha1: createHash('sha1').update('a note\n').digest('hex'),
      },
      {
        path: 'hello',
        size: 6,
        sha256: sha256('binary').hex,
        sha1: createHash('sha1').update('binary').digest('hex'),
      },
    ]);
  });
});
