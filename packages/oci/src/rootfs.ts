/** Apply an image's layers, base first, into a directory — safely (no escapes), honouring whiteouts. */
import type { Image } from './image.ts';

export interface ExtractReport {
  files: number;
  /** Things that could not be reproduced unprivileged (device nodes, ownership), as messages. */
  warnings: string[];
}

export async function extractRootfs(_image: Image, _dir: string): Promise<ExtractReport> {
  throw new Error('TODO');
}
