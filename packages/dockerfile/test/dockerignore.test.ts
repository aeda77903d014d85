/** .dockerignore as Docker reads it: exceptions below excluded directories, and invalid patterns refused. */
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IgnoreRules } from '../src/ignore.ts';
import { evaluate } from '../src/index.ts';
import { layerListing, makeTree, type Tree } from './helpers.ts';

let ctx: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: ctx, cleanup } = await tempDir('dockerignore-'));
});
afterEach(() => cleanup());

const TREE: Tree = {
  'sub/keep': 'keep\n',
  'sub/drop': 'drop\n',
  'sub/deep/keep.txt': 'deep keep\n',
  'sub/deep/other.bin': 'x\n',
  'top.txt': 'top\n',
};

async function paths(dockerfile: string, ignore: string): Promise<string[]> {
  await makeTree(ctx, { ...TREE, '.dockerignore': ignore });
  const img = await evaluate(dockerfile, { context: ctx, platform: 'linux/amd64' });
  const [layer] = await layerListing(img);
  return layer!.map((l) => `${l.split(' ')[0]} ${l.split(' ')[1]}`);
}

describe('.dockerignore exceptions', () => {
  it('sub + !sub/keep keeps sub/keep (COPY . /)', async () => {
    expect(await paths('FROM scratch\nCOPY . /\n', 'sub\n!sub/keep\n')).toEqual([
      'file .dockerignore',
      'dir sub',
      'file sub/keep',
      'file top.txt',
    ]);
  });

  it('an exception deeper down, and with a glob', async () => {
    expect(await paths('FROM scratch\nCOPY . /c/\n', 'sub\n!sub/deep/*.txt\n.dockerignore\n')).toEqual([
      'dir c',
      'dir c/sub',
      'dir c/sub/deep',
      'file c/sub/deep/keep.txt',
      'file c/top.txt',
    ]);
  });

  it('COPY of the excluded directory itself takes only the exceptions; a file in it stays excluded', async () => {
    expect(await paths('FROM scratch\nCOPY sub /s/\n', 'sub\n!sub/keep\n')).toEqual(['dir s', 'file s/keep']);
    await expect(
      evaluate('FROM scratch\nCOPY sub/drop /\n', { context: ctx, platform: 'linux/amd64' }),
    ).rejects.toMatchObject({ code: 'DOCKERFILE_SOURCE_NOT_FOUND', message: /excluded by .dockerignore/ });
    const img = await evaluate('FROM scratch\nCOPY sub/keep /\n', { context: ctx, platform: 'linux/amd64' });
    expect((await layerListing(img))[0]).toEqual(['file keep 644 0:0 keep']);
  });

  it('a later exclusion wins over an earlier exception, as in Docker', async () => {
    expect(await paths('FROM scratch\nCOPY . /\n', 'sub\n!sub/keep\nsub/keep\n.dockerignore\n')).toEqual([
      'file top.txt',
    ]);
  });
});

describe('.dockerignore patterns', () => {
  it.each([
    ['[abc', 'unclosed ['],
    ['sub/[]', 'bad character class'],
    ['a[z-a]', 'backwards'],
    ['x\\', 'trailing \\'],
    ['!', '"!" needs a pattern'],
  ])('%j is an error naming the file and line', async (pattern, why) => {
    await makeTree(ctx, { ...TREE, '.dockerignore': `# ok\ntop.txt\n${pattern}\n` });
    const err = (await evaluate('FROM scratch\nCOPY . /\n', { context: ctx, platform: 'linux/amd64' }).catch(
      (e: unknown) => e,
    )) as Error & { code?: string; hint?: string };
    expect(err).toMatchObject({ code: 'DOCKERFILE_IGNORE_PATTERN', line: 2, instruction: 'COPY' });
    expect(err.message).toContain(`${ctx}/.dockerignore:3: invalid pattern ${JSON.stringify(pattern)}`);
    expect(err.message).toContain(why);
    expect(err.hint).toMatch(/\*\*/);
  });

  it('character classes, escapes and ** work as in Docker', () => {
    const rules = IgnoreRules.parse('file[0-9].txt\n\\*literal\n**/cache\n/abs/./x/\n');
    expect(rules.isIgnored('file7.txt')).toBe(true);
    expect(rules.isIgnored('fileA.txt')).toBe(false);
    expect(rules.isIgnored('*literal')).toBe(true);
    expect(rules.isIgnored('xliteral')).toBe(false);
    expect(rules.isIgnored('a/b/cache/f')).toBe(true);
    expect(rules.isIgnored('cache')).toBe(true);
    expect(rules.isIgnored('abs/x/y')).toBe(true);
    expect(IgnoreRules.parse('sub\n!sub/a/b\n').mayIncludeBelow('sub')).toBe(true);
    expect(IgnoreRules.parse('sub\n!sub/a/b\n').mayIncludeBelow('sub/c')).toBe(false);
    expect(IgnoreRules.parse('sub\n!**/b\n').mayIncludeBelow('sub/c')).toBe(true);
    expect(IgnoreRules.parse('sub\n!other\n').mayIncludeBelow('sub')).toBe(false);
  });
});
