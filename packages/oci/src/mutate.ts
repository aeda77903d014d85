/**
 * Pure mutations: each takes an image and returns a NEW image; the input is never changed
 * (go-containerregistry's pkg/v1/mutate). Compose them: sources → mutate → sinks.
 */
import { type Image, imageFromParts, toParts } from './image.ts';
import type { Layer } from './layer.ts';
import { type Family, familyOf } from './media-types.ts';
import { normalizePlatform, type Platform } from './platform.ts';
import { rfc3339 } from './time.ts';
import type { Annotations, ConfigFile, ContainerConfig, History } from './types.ts';

export interface Addendum {
  layer: Layer;
  /** History entry for this layer; default `{ created: <config.created> }`. Never `empty_layer`. */
  history?: History;
}

/** Append layers (with their history entries) on top of `base`. */
export async function appendLayers(base: Image, ...adds: Addendum[]): Promise<Image> {
  const parts = await toParts(base);
  const history = [...(parts.config.history ?? [])];
  for (const a of adds) {
    const h: History = { ...(a.history ?? {}) };
    delete h.empty_layer;
    h.created ??= parts.config.created;
    history.push(h);
  }
  return imageFromParts({
    ...parts,
    layers: [...parts.layers, ...adds.map((a) => a.layer)],
    config: { ...parts.config, history },
  });
}

/** Add a history entry that has no layer (`empty_layer: true`), as config-only Dockerfile steps do. */
export async function appendHistory(base: Image, entry: Omit<History, 'empty_layer'>): Promise<Image> {
  const parts = await toParts(base);
  const h: History = { created: parts.config.created, ...entry, empty_layer: true };
  return imageFromParts({
    ...parts,
    config: { ...parts.config, history: [...(parts.config.history ?? []), h] },
  });
}

/** Merge `partial` into the runtime config (`config.config`). Keys set to `undefined` are removed. */
export async function withConfig(base: Image, partial: Partial<ContainerConfig>): Promise<Image> {
  const parts = await toParts(base);
  const merged: Record<string, unknown> = { ...parts.config.config };
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return imageFromParts({ ...parts, config: { ...parts.config, config: merged as ContainerConfig } });
}

/**
 * Replace the whole config file. `rootfs.diff_ids` always comes from the layers; history entries
 * without `empty_layer` must still match the layers one to one (checked by `validateImage`).
 */
export async function withConfigFile(base: Image, config: ConfigFile): Promise<Image> {
  const parts = await toParts(base);
  return imageFromParts({ ...parts, config: structuredClone(config) });
}

/** Set architecture/os/variant (normalised to Go's names; arm64 gets variant v8). */
export async function withPlatform(base: Image, platform: Platform): Promise<Image> {
  const parts = await toParts(base);
  const p = normalizePlatform(platform);
  const config: ConfigFile = { ...parts.config, architecture: p.architecture, os: p.os };
  if (p.variant) config.variant = p.variant;
  else delete config.variant;
  if (p['os.version']) config['os.version'] = p['os.version'];
  if (p['os.features']) config['os.features'] = p['os.features'];
  return imageFromParts({ ...parts, config });
}

/**
 * Set `created` of the config (RFC 3339 UTC, whole seconds). With `{ history: true }` every history
 * entry's `created` is set too, which is what a reproducible build wants.
 */
export async function withCreated(
  base: Image,
  when: Date | number,
  opts: { history?: boolean } = {},
): Promise<Image> {
  const parts = await toParts(base);
  const created = rfc3339(when);
  const config: ConfigFile = { ...parts.config, created };
  if (opts.history && config.history) config.history = config.history.map((h) => ({ ...h, created }));
  return imageFromParts({ ...parts, config });
}

/** Merge manifest annotations (a value of `undefined` removes the key). */
export async function withAnnotations(
  base: Image,
  annotations: Record<string, string | undefined>,
): Promise<Image> {
  const parts = await toParts(base);
  const merged: Annotations = { ...(parts.annotations ?? {}) };
  for (const [k, v] of Object.entries(annotations)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return imageFromParts({ ...parts, annotations: merged });
}

/**
 * Convert the manifest, config and layer media types to one family. Throws `MediaTypeError` for layers
 * with no equivalent (e.g. zstd → Docker). The config JSON is the same; its descriptor's type changes.
 */
export async function withMediaTypeFamily(base: Image, family: Family): Promise<Image> {
  if (familyOf(base.mediaType()) === family) return base;
  const parts = await toParts(base);
  return imageFromParts({ ...parts, family });
}
