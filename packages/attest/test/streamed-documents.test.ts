import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Artifact, BlobStore, ContentSpool, writeReferrers } from '@scratchpack/oci';
import { describe, expect, it, vi } from 'vitest';
import { cyclonedxFileComponent } from '../src/cyclonedx.ts';
import type { ImageInputs } from '../src/index.ts';
import {
  attestations,
  cyclonedxDocument,
  cyclonedxJson,
  provenanceJson,
  provenanceStatement,
  spdxDocument,
  spdxJson,
} from '../src/index.ts';
import { JsonItems, jsonBytes, jsonRuns, jsonSpooled, lazy, q } from '../src/json-stream.ts';
import { spdxFileEntry, spdxRelationship } from '../src/spdx.ts';
import { sampleInputs, validators } from './helpers.ts';

const { spdx, cyclonedx } = validators();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const hex = (n: number, len: number) => createHash('sha256').update(String(n)).digest('hex').slice(0, len);

/** The sample image with `count` added files (one of them the program, so it is CONTAINed twice). */
function manyFiles(count: number): ImageInputs {
  const files = Array.from({ length: count }, (_, n) => ({
    path: `files/d${n % 7}/f${n}.txt`,
    sha256: hex(n, 64),
    sha1: hex(n + 1e6, 40),
  }));
  files.push({ path: 'hello', sha256: 'e'.repeat(64), sha1: '3'.repeat(40) });
  return sampleInputs({ files });
}

describe('documents written as they are made (json-stream)', () => {
  it('jsonBytes writes what JSON.stringify(doc) writes, Lazy arrays included', () => {
    const docs: unknown[] = [
      {},
      [],
      { a: lazy(() => []), b: [], c: {}, d: undefined, e: 'ünï\n"code"', f: [undefined, 1, null] },
      { list: lazy(() => [1, { x: lazy(() => ['y', 'z']), w: { v: [] } }, [2, 3], 'é']) },
      lazy(function* () {
        yield { deep: { er: lazy(() => [{ k: 1 }]) } };
        yield 'two';
      }),
      { toJSON: () => ({ replaced: true }) },
    ];
    for (const doc of docs) expect(jsonBytes(doc).toString()).toBe(`${JSON.stringify(doc)}\n`);
    // Whatever room is reserved (too little: pieces joined; plenty: one buffer), the same bytes.
    const big = { list: lazy(() => Array.from({ length: 20_000 }, (_, n) => ({ n, s: `é${n}` }))) };
    const want = `${JSON.stringify(big)}\n`;
    for (const reserve of [0, 100, 4 << 20]) expect(jsonBytes(big, reserve).toString()).toBe(want);
  });

  it('q quotes a string exactly as JSON.stringify does', () => {
    const strings = [
      '',
      'files/d1/f2.txt',
      'a"b',
      'back\\slash',
      'tab\there',
      '\u0000\u001f\u007f',
      'ünï ✓',
      '\u2028\u2029',
      '😀 pair',
      'lone \ud800 high',
      'lone \udfff low',
      `${'x'.repeat(200)}"`,
    ];
    for (const s of strings) expect(q(s)).toBe(JSON.stringify(s));
  });

  it('a document of many files is byte for byte JSON.stringify of the same document as plain data', () => {
    // The plain documents are one object graph (no Lazy, no Rendered entry) stringified at once: the streamed
    // writer, the per-file templates and the spooled file must give exactly its bytes.
    const i = manyFiles(3000);
    const plain = (doc: Record<string, unknown>) => `${JSON.stringify(doc)}\n`;
    expect(spdxJson(i).toString()).toBe(plain(spdxDocument(i)));
    expect(cyclonedxJson(i).toString()).toBe(plain(cyclonedxDocument(i)));
    expect(provenanceJson(i).toString()).toBe(`${JSON.stringify(provenanceStatement(i))}\n`);
    // Pinned: a change of these bytes changes every SBOM digest, and must be one made on purpose.
    expect(sha(spdxJson(i))).toBe(GOLDEN.spdx);
    expect(sha(cyclonedxJson(i))).toBe(GOLDEN.cyclonedx);
    expect(sha(provenanceJson(i))).toBe(GOLDEN.provenance);
  });

  it('SBOMs of thousands of files are file-backed blobs with the same bytes; small ones are held', async () => {
    const i = manyFiles(9000);
    const [spdxDoc, cdxDoc, provenance] = await attestations(i);
    const blob = (a: Artifact) => a.blobs[1]!;
    for (const [a, bytes] of [
      [spdxDoc!, spdxJson(i)],
      [cdxDoc!, cyclonedxJson(i)],
    ] as const) {
      const b = blob(a);
      expect(b.file).toBeTypeOf('string');
      expect((await readFile(b.file!)).equals(bytes)).toBe(true);
      expect(b.descriptor.digest).toBe(`sha256:${sha(bytes)}`);
      expect(b.descriptor.size).toBe(bytes.byteLength);
      expect(b.bytes.equals(bytes)).toBe(true);
    }
    expect(blob(provenance!).file).toBeUndefined();
    // Written into a layout, the blobs are the documents' bytes (copied from the files).
    const dir = await mkdtemp(join(tmpdir(), 'attest-spooled-'));
    try {
      await writeReferrers(dir, [spdxDoc!]);
      const stored = await new BlobStore(dir).read(blob(spdxDoc!).descriptor.digest);
      expect(stored.equals(spdxJson(i))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const small = await attestations(manyFiles(10));
    expect(small.map((a) => blob(a).file)).toEqual([undefined, undefined, undefined]);
  });

  it('a spooled document is written while it is made, a few pieces in flight, and a failed write fails it whole', async () => {
    // About 6 MB: six 1 MiB pieces.
    const big = { list: lazy(() => Array.from({ length: 250_000 }, (_, n) => ({ n, s: `é${n}` }))) };
    const want = jsonBytes(big);
    expect(want.byteLength).toBeGreaterThan(5 << 20);
    const made = await jsonSpooled(big);
    try {
      expect((await readFile(made.file)).equals(want)).toBe(true);
      expect(made.digest).toBe(`sha256:${sha(want)}`);
      expect(made.size).toBe(want.byteLength);
    } finally {
      await rm(join(made.file, '..'), { recursive: true, force: true });
    }
    // The third piece's write fails (a full disk): the error is the document's, once every write has settled,
    // and its temp file is gone.
    const real = ContentSpool.prototype.appendAsync;
    let calls = 0;
    let inFlight = 0;
    let most = 0;
    const files: string[] = [];
    const spy = vi.spyOn(ContentSpool.prototype, 'appendAsync').mockImplementation(function (
      this: ContentSpool,
      piece,
    ) {
      files.push(this.path);
      inFlight++;
      most = Math.max(most, inFlight);
      const k = ++calls;
      const done =
        k === 3
          ? Promise.reject(Object.assign(new Error('no space left'), { code: 'ENOSPC' }))
          : real.call(this, piece);
      return done.finally(() => inFlight--);
    });
    try {
      await expect(jsonSpooled(big)).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(inFlight).toBe(0);
      expect(most).toBeLessThanOrEqual(4);
      await expect(readFile(files[0]!)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      spy.mockRestore();
    }
  });

  it('the streamed documents validate and list every file once, in order', () => {
    const i = manyFiles(3000);
    const s = JSON.parse(spdxJson(i).toString());
    expect(spdx(s)).toEqual([]);
    const names = s.files.map((f: { fileName: string }) => f.fileName);
    expect(names.slice(1, 3001)).toEqual(i.files.slice(0, 3000).map((f) => `./${f.path}`));
    expect(names[0]).toBe('./Dockerfile');
    expect(names.at(-1)).toBe('./src/hello.c');
    const c = JSON.parse(cyclonedxJson(i).toString());
    expect(cyclonedx(c)).toEqual([]);
    const files = c.components.filter(
      (x: { description?: string }) => x.description === 'a file in the image',
    );
    expect(files).toHaveLength(3001);
    expect(c.dependencies[0].dependsOn.slice(0, 3001)).toEqual(
      files.map((f: { 'bom-ref': string }) => f['bom-ref']),
    );
  });

  it("each added file's entries are the templates' text, whatever its name", () => {
    // The per-file entries are written by literals of their own (faster); they must be what the templates write.
    const odd = ['plain/a.txt', 'ünï "quoted" \\ back\tslash', 'line\u2028sep\u0001', '😀/path with spaces'];
    const i = sampleInputs({
      files: odd.map((path, n) => ({ path, sha256: hex(n, 64), sha1: hex(n + 1e6, 40) })),
    });
    const spdxText = spdxJson(i).toString();
    const cdxText = cyclonedxJson(i).toString();
    const image = JSON.parse(spdxText).relationships.find(
      (r: { relatedSpdxElement: string }) => r.relatedSpdxElement === 'SPDXRef-File-0',
    ).spdxElementId;
    odd.forEach((path, n) => {
      const f = i.files[n]!;
      expect(spdxText).toContain(spdxFileEntry(`SPDXRef-File-${n}`, `./${path}`, f.sha1, f.sha256));
      expect(spdxText).toContain(spdxRelationship(image, 'CONTAINS', `SPDXRef-File-${n}`));
      expect(cdxText).toContain(cyclonedxFileComponent(`file:${n}`, path, f.sha1, f.sha256));
    });
    expect(spdxText).toBe(`${JSON.stringify(JSON.parse(spdxText))}\n`);
    expect(cdxText).toBe(`${JSON.stringify(JSON.parse(cdxText))}\n`);
  });
});

const GOLDEN = {
  spdx: '4b13787cb1a084717c33d639464c501776a749fd100113598589a2130ea95251',
  cyclonedx: 'b61533759d65a88fc1fee55df954970573725afaa23c5d90db57353995a8240e',
  provenance: '5dd00309d42b3fffb0e51855a77005f66029996a5be29b6b16e1602b54e60877',
};

describe('per-file entries (templates, written in runs)', () => {
  it('each template writes what JSON.stringify writes of its object, in any place, for any string', () => {
    const odd = ['a', 'ünï "quoted" \\ back\tslash', '\u2028line\u0001', '😀/path with spaces'];
    for (const s of odd) {
      const cases: [string, unknown][] = [
        [
          spdxFileEntry(`SPDXRef-${s}`, `./${s}`, `1${s}`, `2${s}`),
          {
            SPDXID: `SPDXRef-${s}`,
            fileName: `./${s}`,
            checksums: [
              { algorithm: 'SHA1', checksumValue: `1${s}` },
              { algorithm: 'SHA256', checksumValue: `2${s}` },
            ],
            comment: 'in the image',
          },
        ],
        [
          spdxRelationship(`a${s}`, 'CONTAINS', `b${s}`),
          { spdxElementId: `a${s}`, relationshipType: 'CONTAINS', relatedSpdxElement: `b${s}` },
        ],
        [
          cyclonedxFileComponent(`file:${s}`, s, `1${s}`, `2${s}`),
          {
            type: 'file',
            'bom-ref': `file:${s}`,
            name: s,
            scope: 'required',
            hashes: [
              { alg: 'SHA-1', content: `1${s}` },
              { alg: 'SHA-256', content: `2${s}` },
            ],
            description: 'a file in the image',
          },
        ],
      ];
      for (const [text, plain] of cases) {
        expect(text).toBe(JSON.stringify(plain));
        const doc = { deep: { list: lazy(() => jsonRuns([text, text], (t) => t)) } };
        expect(jsonBytes(doc).toString()).toBe(`${JSON.stringify({ deep: { list: [plain, plain] } })}\n`);
        expect(JSON.parse(JSON.stringify(doc))).toEqual({ deep: { list: [plain, plain] } });
      }
    }
  });

  it('runs of entries are written as the items they join, beside other items, in any number of runs', () => {
    // 5,000 entries of ~40 characters: several runs (a run is cut past 65,536 characters).
    const list = Array.from({ length: 5000 }, (_, n) => ({ n, s: `é${n} "q"` }));
    const runs = [...jsonRuns(list, (v) => JSON.stringify(v))];
    expect(runs.length).toBeGreaterThan(2);
    expect(runs.every((r) => r instanceof JsonItems && r.text.length > 0)).toBe(true);
    // An entry may stand for no item ('') or for several (joined with commas).
    const odd = [...jsonRuns([1, 2, 3, 4], (v) => (v % 2 ? '' : `${v},${v * 10}`))];
    expect(odd.map((r) => r.text)).toEqual(['2,20,4,40']);
    expect([...jsonRuns([1, 3], (v) => (v % 2 ? '' : String(v)))]).toEqual([]);
    const doc = {
      a: lazy(function* () {
        yield { first: true };
        yield* jsonRuns(list, (v) => JSON.stringify(v));
        yield [lazy(() => jsonRuns([7], String))];
        yield* jsonRuns([] as number[], String);
      }),
      b: lazy(() => jsonRuns([] as number[], String)),
      c: lazy(() => jsonRuns([8, 9], String)),
    };
    const plain = { a: [{ first: true }, ...list, [[7]]], b: [], c: [8, 9] };
    expect(jsonBytes(doc).toString()).toBe(`${JSON.stringify(plain)}\n`);
    expect(JSON.stringify(doc)).toBe(JSON.stringify(plain));
  });
});
