/** Validation: walk an image, index or layout, recompute every digest and size, check consistency. */
import type { Image } from './image.ts';
import type { ImageIndex } from './image-index.ts';

export interface ValidationReport {
  /** What was checked, e.g. `image sha256:…`. */
  subject: string;
  /** Blobs and manifests whose digest and size were recomputed. */
  checked: number;
  /** Problems found; empty when valid (the validators throw `ValidationError` otherwise). */
  problems: string[];
}

export async function validateImage(_img: Image): Promise<ValidationReport> {
  throw new Error('TODO');
}

export async function validateIndex(_idx: ImageIndex): Promise<ValidationReport> {
  throw new Error('TODO');
}

export async function validateLayout(_dir: string, _opts: { tag?: string } = {}): Promise<ValidationReport> {
  throw new Error('TODO');
}
