import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { type LayerEntry, type ReadTarOptions, readTarEntries } from '../src/index.ts';
import { TarChecker } from '../src/tar-check.ts';
import { bytes, makeTar } from './helpers.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Outcome =
  | { ok: true; entries: number; files: [string, string][] }
  | { ok: false; code: unknown; message: string };

const KEEP = (p: string) => p.startsWith('var/lib/') || p === 'etc/os-release';

/** What `readTarEntries` (tar-stream) makes of `tar`: the entry count and the kept files' bodies, or its error. */
async function reference(tar: Buffer, opts: ReadTarOptions): Promise<Outcome> {
  let entries: LayerEntry[];
  try {
    entries = await readTarEntries(Readable.from([tar]), opts);
  } catch (err) {
    return { ok: false, code: (err as { code?: unknown }).code, message: (err as Error).message };
  }
  const files = new Map<string, string>();
  for (const e of entries)
    if (e.type === 'file' && 'content' in e && opts.keepFiles?.(e.path))
      files.set(e.path, Buffer.from(e.content).toString('latin1'));
  return { ok: true, entries: entries.length, files: [...files].sort() };
}

/** What the checker makes of `tar` handed over in pieces of `size` bytes (each reused after the call). */
function checked(tar: Buffer, opts: ReadTarOptions, size: number): Outcome {
  const checker = new TarChecker(opts);
  const reused = Buffer.alloc(size);
  try {
    for (let at = 0; at < tar.byteLength; at += size) {
      const n = tar.copy(reused, 0, at, Math.min(tar.byteLength, at + size));
      checker.push(reused.subarray(0, n));
      reused.fill(0xee);
    }
    const { entries, files } = checker.end();
    const kept = [...files].map(([p, b]) => [p, b.toString('latin1')] as [string, string]);
    return { ok: true, entries, files: kept.sort() };
  } catch (err) {
    return { ok: false, code: (err as { code?: unknown }).code, message: (err as Error).message };
  }
}

const PIECES = [1, 100, 511, 512, 513, 10_240, 1 << 20];

async function expectSame(tar: Buffer, opts: ReadTarOptions = {}): Promise<Outcome> {
  const want = await reference(tar, { keepFiles: KEEP, source: 'x.tar', ...opts });
  for (const size of PIECES)
    expect(checked(tar, { keepFiles: KEEP, source: 'x.tar', ...opts }, size), `pieces of ${size}`).toEqual(
      want,
    );
  return want;
}

describe('TarChecker: what readTarEntries (tar-stream) says of the same tar, whatever the pieces', () => {
  it('GNU tar of a rootfs-like tree in gnu, posix and ustar formats: counts, kept files (last one wins)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-check-'));
    dirs.push(dir);
    const root = join(dir, 'root');
    mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    mkdirSync(join(root, 'c'.repeat(70), 'd'.repeat(50)), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), 'Package: a\nVersion: 1\n\n'.repeat(900));
    writeFileSync(join(root, 'etc/os-release'), 'ID=debian\n');
    writeFileSync(join(root, 'usr/bin/big'), bytes(300_001));
    writeFileSync(join(root, 'usr/bin/empty'), '');
    writeFileSync(join(root, 'c'.repeat(70), 'd'.repeat(50), 'in-the-prefix'), 'ustar prefix\n');
    // Kept, under a name longer than 100 bytes: the ustar prefix, a GNU long name, a PAX path.
    const keptLong = join(root, 'var/lib', 'k'.repeat(90));
    mkdirSync(keptLong, { recursive: true });
    writeFileSync(join(keptLong, 'status'), 'under a long name\n');
    linkSync(join(root, 'usr/bin/big'), join(root, 'usr/bin/hard'));
    symlinkSync('big', join(root, 'usr/bin/sym'));
    const long = join(root, 'l'.repeat(120), 'm'.repeat(120));
    mkdirSync(long, { recursive: true });
    writeFileSync(join(long, 'var-lib-not'), 'long name');
    for (const format of ['gnu', 'posix', 'ustar']) {
      if (format === 'ustar') rmSync(join(root, 'l'.repeat(120)), { recursive: true });
      const tar = execFileSync('tar', [`--format=${format}`, '-C', root, '-c', '.'], { maxBuffer: 1 << 26 });
      const want = await expectSame(tar);
      expect(want.ok && want.entries, format).toBeGreaterThan(10);
      expect(want.ok && want.files.map(([p]) => p), format).toEqual([
        'etc/os-release',
        'var/lib/dpkg/status',
        `var/lib/${'k'.repeat(90)}/status`,
      ]);
    }
  });

  it('PAX records (path, linkpath, size, xattrs, a global header), duplicates, whiteouts kept', async () => {
    const tar = await makeTar([
      { header: { name: './', type: 'directory' } },
      { header: { name: 'var/lib/x', type: 'file' }, body: 'first' },
      { header: { name: 'var/lib/x', type: 'file' }, body: 'second wins' },
      { header: { name: `var/lib/${'p'.repeat(200)}`, type: 'file' }, body: 'a PAX path' },
      { header: { name: 'ünï/x', type: 'file', pax: { 'SCHILY.xattr.user.k': 'v' } }, body: 'xattr' },
      { header: { name: `l/${'q'.repeat(150)}`, type: 'symlink', linkname: `t/${'r'.repeat(150)}` } },
      { header: { name: 'a/.wh.b', type: 'file' }, body: '' },
      { header: { name: 'a/.wh..wh..opq', type: 'file' }, body: '' },
      { header: { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 } },
      { header: { name: 'fifo', type: 'fifo' } },
    ]);
    const want = await expectSame(tar);
    expect(want.ok).toBe(true);
    const global = execFileSync('tar', [
      '--format=posix',
      '--pax-option=globexthdr.name=g,comment=hello',
      '-C',
      join(import.meta.dirname, '..'),
      '-c',
      'package.json',
    ]);
    expect((await expectSame(global)).ok).toBe(true);
  });

  it('refusals: absolute and `..` names, whiteouts when refused, hardlinks to nothing earlier, unknown types', async () => {
    const cases: [Parameters<typeof makeTar>[0], ReadTarOptions, string][] = [
      [[{ header: { name: '/etc/passwd', type: 'file' }, body: 'x' }], {}, 'OCI_UNSAFE_PATH'],
      [[{ header: { name: 'a/../../etc', type: 'file' }, body: 'x' }], {}, 'OCI_UNSAFE_PATH'],
      [[{ header: { name: 'a/.wh.b', type: 'file' }, body: '' }], { whiteouts: 'refuse' }, 'OCI_UNSAFE_PATH'],
      [[{ header: { name: 'l', type: 'link', linkname: 'nothing' } }], {}, 'OCI_HARDLINK_TARGET_MISSING'],
      [
        [
          { header: { name: 'l', type: 'link', linkname: 'f' } },
          { header: { name: 'f', type: 'file' }, body: 'later' },
        ],
        {},
        'OCI_HARDLINK_TARGET_MISSING',
      ],
    ];
    for (const [entries, opts, code] of cases) {
      const want = await expectSame(await makeTar(entries), opts);
      expect(want, code).toMatchObject({ ok: false, code });
    }
    const unknown = await makeTar([{ header: { name: 'f', type: 'file' }, body: 'x' }]);
    unknown[156] = 'Z'.charCodeAt(0);
    // The header's checksum must hold for the type to be read.
    let sum = 8 * 32;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += unknown[i]!;
    unknown.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(await expectSame(unknown)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/unsupported tar entry type/),
    });
  });

  it('malformed: cut inside a header, a body or a PAX record, a wrong checksum, junk, not ustar', async () => {
    const whole = await makeTar([
      { header: { name: 'a', type: 'file' }, body: 'aaaa' },
      { header: { name: `b/${'n'.repeat(200)}`, type: 'file' }, body: bytes(3000).toString('latin1') },
    ]);
    for (const cut of [100, 512, 600, 1100, 1536, 2000, 2100, 3000, 5600])
      expect(await expectSame(whole.subarray(0, cut)), `cut at ${cut}`).toMatchObject({
        ok: false,
        code: 'OCI_INVALID_TAR',
      });
    // Cut at an entry boundary: a tar of fewer entries (the import's end-marker check catches that).
    expect(await expectSame(whole.subarray(0, 1024))).toMatchObject({ ok: true, entries: 1 });
    const bad = Buffer.from(whole);
    bad[3] = bad[3]! ^ 1;
    expect(await expectSame(bad)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Invalid tar header/),
    });
    expect(await expectSame(Buffer.from('junk'.repeat(300)))).toMatchObject({
      ok: false,
      code: 'OCI_INVALID_TAR',
    });
    const v7 = Buffer.from(whole);
    v7.fill(0, 257, 265);
    let sum = 8 * 32;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += v7[i]!;
    v7.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(await expectSame(v7)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/unknown format/),
    });
  });
});
