/**
 * The JSON documents of an image, typed (image-spec descriptor.md, manifest.md, image-index.md, config.md).
 * Digests inside JSON documents are plain strings; accessors return `Digest` objects.
 */
import type { Platform } from './platform.ts';

export type Annotations = Record<string, string>;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Annotations;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

export interface IndexManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

/** The runtime configuration of a container (config.md "config"). Docker's capitalised keys. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  OnBuild?: string[];
  Shell?: string[];
}

export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface RootFS {
  type: 'layers';
  diff_ids: string[];
}

/** The image configuration blob (config.md). */
export interface ConfigFile {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config: ContainerConfig;
  rootfs: RootFS;
  history?: History[];
}

/** Field order used when serialising a config, so equal configs give equal bytes. */
const CONFIG_KEYS = [
  'created',
  'author',
  'architecture',
  'os',
  'os.version',
  'os.features',
  'variant',
  'config',
  'rootfs',
  'history',
] as const;
const CONTAINER_KEYS = [
  'User',
  'ExposedPorts',
  'Env',
  'Entrypoint',
  'Cmd',
  'Volumes',
  'WorkingDir',
  'Labels',
  'StopSignal',
  'ArgsEscaped',
  'OnBuild',
  'Shell',
] as const;
const HISTORY_KEYS = ['created', 'created_by', 'author', 'comment', 'empty_layer'] as const;

function pick<T extends object>(obj: T, keys: readonly string[], sortRest = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const src = obj as Record<string, unknown>;
  for (const k of keys) if (src[k] !== undefined) out[k] = src[k];
  const rest = Object.keys(src).filter((k) => !keys.includes(k) && src[k] !== undefined);
  for (const k of sortRest ? rest.sort() : rest) out[k] = src[k];
  return out;
}

function sortedRecord<T>(r: Record<string, T> | undefined): Record<string, T> | undefined {
  if (!r) return undefined;
  return Object.fromEntries(
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k] as T]),
  );
}

/**
 * Serialise a config with a fixed key order (maps sorted by key), compact, no trailing newline.
 * These are the bytes that get hashed, stored and pushed (OCI-NOTES #6).
 */
export function serializeConfig(cf: ConfigFile): Buffer {
  const c = cf.config ?? {};
  const config = pick(
    {
      ...c,
      ExposedPorts: sortedRecord(c.ExposedPorts),
      Volumes: sortedRecord(c.Volumes),
      Labels: sortedRecord(c.Labels),
    },
    CONTAINER_KEYS,
  );
  const doc = pick(
    {
      ...cf,
      config,
      rootfs: { type: 'layers', diff_ids: [...(cf.rootfs?.diff_ids ?? [])] },
      history: cf.history?.map((h) => pick(h, HISTORY_KEYS)),
    },
    CONFIG_KEYS,
  );
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** Serialise a manifest or index: keys in spec order, compact. */
export function serializeManifest(m: Manifest | IndexManifest): Buffer {
  const desc = (d: Descriptor) =>
    pick(
      {
        ...d,
        annotations: sortedRecord(d.annotations),
        platform:
          d.platform &&
          pick(d.platform, ['architecture', 'os', 'os.version', 'os.features', 'variant', 'features']),
      },
      ['mediaType', 'digest', 'size', 'urls', 'annotations', 'data', 'platform', 'artifactType'],
    );
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: m.mediaType };
  if (m.artifactType) doc.artifactType = m.artifactType;
  if ('config' in m) {
    doc.config = desc(m.config);
    doc.layers = m.layers.map(desc);
  } else {
    doc.manifests = m.manifests.map(desc);
  }
  if (m.subject) doc.subject = desc(m.subject);
  if (m.annotations) doc.annotations = sortedRecord(m.annotations);
  return Buffer.from(JSON.stringify(doc), 'utf8');
}
