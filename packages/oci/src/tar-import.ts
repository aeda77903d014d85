/** Reading existing tars (plain or gzip) into normalised layer entries, refusing unsafe ones. */
import type { Readable } from 'node:stream';
import type { Layer } from './layer.ts';
import type { LayerEntry } from './layer-entries.ts';
import type { LayerOptions } from './tar-layer.ts';

export interface ReadTarOptions {
  /** Where the tar came from, for error messages. */
  source?: string;
  /** `keep` (default) maps `.wh.` names to whiteout entries; `refuse` throws on them. */
  whiteouts?: 'keep' | 'refuse';
}

export async function readTarEntries(_input: Readable, _opts: ReadTarOptions = {}): Promise<LayerEntry[]> {
  throw new Error('TODO');
}

export async function layerFromTarStream(
  _input: Readable,
  _opts: LayerOptions & ReadTarOptions = {},
): Promise<Layer> {
  throw new Error('TODO');
}
