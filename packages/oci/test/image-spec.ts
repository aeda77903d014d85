/**
 * The official image-spec v1.1.1 JSON schemas (fixtures/image-spec-v1.1.1, see its README) as validators, and
 * the documents of a layout to feed them; used by this package's tests and the CLI's integration tests.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import AjvDraft04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import { MediaTypes } from '../src/index.ts';

// A CommonJS module: under NodeNext its default import is the module object (as helpers do for ajv-formats).
const AjvDraft04 = AjvDraft04Module as unknown as typeof AjvDraft04Module.default;
const SCHEMAS = join(import.meta.dirname, 'fixtures', 'image-spec-v1.1.1');

/** The schemas, each known by its file name (as the spec's Go validator loads them). */
export async function imageSpecSchemas() {
  const ajv = new AjvDraft04({ allErrors: true, strict: false });
  (addFormatsModule as unknown as (a: typeof ajv) => void)(ajv); // date-time (created), uri
  const dropNestedIds = (x: unknown, root: boolean): unknown => {
    if (Array.isArray(x)) return x.map((v) => dropNestedIds(v, false));
    if (!x || typeof x !== 'object') return x;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === 'id' && typeof v === 'string' && !root) continue;
      out[k] = dropNestedIds(v, false);
    }
    return out;
  };
  for (const f of (await readdir(SCHEMAS)).filter((n) => n.endsWith('.json'))) {
    const s = dropNestedIds(JSON.parse(await readFile(join(SCHEMAS, f), 'utf8')), true) as Record<
      string,
      unknown
    >;
    s.id = `https://opencontainers.org/schema/${f}`;
    ajv.addSchema(s);
  }
  const check = (file: string) => {
    const v = ajv.getSchema(`https://opencontainers.org/schema/${file}`)!;
    return (doc: unknown) =>
      v(doc)
        ? []
        : (v.errors ?? []).map(
            (e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`,
          );
  };
  return {
    index: check('image-index-schema.json'),
    manifest: check('image-manifest-schema.json'),
    config: check('config-schema.json'),
    layout: check('image-layout-schema.json'),
  };
}

/** Every blob of the layout at `root` that is an index, a manifest or a config, by what it is. */
export async function layoutDocuments(root: string) {
  const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8'));
  const out = { indexes: [index] as unknown[], manifests: [] as unknown[], configs: [] as unknown[] };
  const blob = async (d: string) =>
    JSON.parse(await readFile(join(root, 'blobs', 'sha256', d.slice(7)), 'utf8'));
  const seen = new Set<string>();
  const visit = async (d: { mediaType: string; digest: string }) => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    if (d.mediaType === MediaTypes.ociIndex) {
      const idx = await blob(d.digest);
      out.indexes.push(idx);
      for (const m of idx.manifests) await visit(m);
    } else if (d.mediaType === MediaTypes.ociManifest) {
      const m = await blob(d.digest);
      out.manifests.push(m);
      if (m.config.mediaType === MediaTypes.ociConfig) out.configs.push(await blob(m.config.digest));
    }
  };
  for (const m of index.manifests) await visit(m);
  return out;
}

/** Problems of every index, manifest and config of the layout at `root` (empty: all valid). */
export async function layoutSchemaProblems(root: string): Promise<string[]> {
  const v = await imageSpecSchemas();
  const docs = await layoutDocuments(root);
  return [
    ...docs.indexes.flatMap((d, i) => v.index(d).map((p) => `index ${i}: ${p}`)),
    ...docs.manifests.flatMap((d, i) => v.manifest(d).map((p) => `manifest ${i}: ${p}`)),
    ...docs.configs.flatMap((d, i) => v.config(d).map((p) => `config ${i}: ${p}`)),
  ];
}
