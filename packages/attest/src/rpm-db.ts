/**
 * rpm's package database as rpm 4.16+ writes it (`var/lib/rpm/rpmdb.sqlite`, Fedora 36+ at
 * `usr/lib/sysimage/rpm/rpmdb.sqlite`): table `Packages (hnum, blob)`, each blob one package header. The sqlite
 * file is read with sql.js (sqlite compiled to wasm, loaded only when a rootfs has an rpmdb); the header is
 * parsed here, by hand:
 *
 *   int32 il (index entries), int32 dl (data bytes), il × { int32 tag, type, offset, count }, dl data bytes
 *
 * all big-endian, offsets into the data; strings NUL-terminated (rpm's `headerImport`, lib/header.c).
 */
import { createRequire } from 'node:module';

/** The tags read (rpmtag.h) and the types they have. */
const TAG = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  license: 1014,
  arch: 1022,
  sourceRpm: 1044,
} as const;
const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_I18NSTRING = 9;
/** rpm's own limits (lib/header.c: HEADER_TAGS_MAX, HEADER_DATA_MAX): a blob claiming more is not a header. */
const MAX_ENTRIES = 0x10000;
const MAX_DATA = 256 * 1024 * 1024;

export interface RpmHeader {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  license?: string;
  sourceRpm?: string;
}

/** The fields of one header blob; undefined when the blob is not a well-formed header with a name and version. */
export function parseRpmHeader(blob: Uint8Array): RpmHeader | undefined {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.byteLength < 8) return undefined;
  const il = buf.readUInt32BE(0);
  const dl = buf.readUInt32BE(4);
  const dataStart = 8 + il * 16;
  if (il > MAX_ENTRIES || dl > MAX_DATA || dataStart + dl > buf.byteLength) return undefined;
  const data = buf.subarray(dataStart, dataStart + dl);
  const strings: Record<number, string> = {};
  let epoch: number | undefined;
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = buf.readUInt32BE(at);
    const type = buf.readUInt32BE(at + 4);
    const offset = buf.readUInt32BE(at + 8);
    const count = buf.readUInt32BE(at + 12);
    if (offset >= dl) continue;
    if (tag === TAG.epoch && type === TYPE_INT32 && count >= 1 && offset + 4 <= dl)
      epoch = data.readUInt32BE(offset);
    else if (
      (type === TYPE_STRING || type === TYPE_I18NSTRING) &&
      Object.values(TAG).includes(tag as never)
    ) {
      const end = data.indexOf(0, offset);
      if (end >= 0) strings[tag] = data.toString('utf8', offset, end); // i18n: the first (the C locale's)
    }
  }
  const name = strings[TAG.name];
  const version = strings[TAG.version];
  if (!name || version === undefined) return undefined;
  const opt = (k: keyof typeof TAG, v: string | undefined) => (v ? { [k]: v } : {});
  return {
    name,
    version,
    release: strings[TAG.release] ?? '',
    ...(epoch !== undefined ? { epoch } : {}),
    ...opt('arch', strings[TAG.arch]),
    ...opt('license', strings[TAG.license]),
    ...opt('sourceRpm', strings[TAG.sourceRpm]),
  };
}

/**
 * The headers of an rpmdb.sqlite file's `Packages` table, in `hnum` order (install order). A file that is not
 * such a database gives none: an SBOM describes what it can read, the import does not fail for it.
 */
export async function readRpmDb(bytes: Uint8Array): Promise<RpmHeader[]> {
  const { default: initSqlJs } = await import('sql.js');
  const require = createRequire(import.meta.url);
  const SQL = await initSqlJs({ locateFile: (f: string) => require.resolve(`sql.js/dist/${f}`) });
  let db: InstanceType<typeof SQL.Database> | undefined;
  try {
    db = new SQL.Database(bytes);
    const rows = db.exec('SELECT blob FROM Packages ORDER BY hnum')[0]?.values ?? [];
    return rows.flatMap(([blob]) => {
      const h = blob instanceof Uint8Array ? parseRpmHeader(blob) : undefined;
      return h && h.name !== 'gpg-pubkey' ? [h] : []; // imported signing keys are headers too, not software
    });
  } catch {
    return [];
  } finally {
    db?.close();
  }
}
