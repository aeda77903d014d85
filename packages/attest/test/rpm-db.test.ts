/**
 * rpm header blobs parsed by hand: a real header (`fixtures/rpm/tinytool.header`, one row of an rpmdb.sqlite
 * made by `fixtures/rpm/make-rpmdb.sh` with Debian's rpm 4.18) and broken ones, which give nothing, never a throw.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPackageDbPath, parseRpmDb, parseRpmHeader, readRpmDb } from '../src/index.ts';

const header = readFileSync(join(import.meta.dirname, 'fixtures', 'rpm', 'tinytool.header'));

describe('rpm headers', () => {
  it('reads name, epoch, version, release, arch, licence and source rpm of a real header', () => {
    expect(parseRpmHeader(header)).toEqual({
      name: 'tinytool',
      epoch: 2,
      version: '1.4.2',
      release: '3.fc39',
      arch: 'x86_64',
      license: 'MIT AND (GPL-2.0-or-later OR BSD-3-Clause)',
      sourceRpm: 'tinytool-1.4.2-3.fc39.src.rpm',
    });
  });

  it('gives undefined for blobs that are not headers (short, counts past the end, no name)', () => {
    expect(parseRpmHeader(Buffer.alloc(4))).toBeUndefined();
    const tooMany = Buffer.from(header);
    tooMany.writeUInt32BE(0x0fffffff, 0);
    expect(parseRpmHeader(tooMany)).toBeUndefined();
    expect(parseRpmHeader(header.subarray(0, header.byteLength - 1))).toBeUndefined();
    const empty = Buffer.alloc(8); // no entries, no data
    expect(parseRpmHeader(empty)).toBeUndefined();
  });

  it('a file that is not an rpmdb gives no packages; the database paths are the ones readRootfsFiles fetches', async () => {
    expect(await readRpmDb(Buffer.from('not sqlite at all'))).toEqual([]);
    expect(await parseRpmDb(Buffer.alloc(0))).toEqual([]);
    expect(isPackageDbPath('var/lib/rpm/rpmdb.sqlite')).toBe(true);
    expect(isPackageDbPath('usr/lib/sysimage/rpm/rpmdb.sqlite')).toBe(true);
    expect(isPackageDbPath('var/lib/rpm/Packages')).toBe(false);
  });
});
