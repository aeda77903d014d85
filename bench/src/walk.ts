/** Layer entries for a directory tree on disk (regular files and directories; what the generated tree holds). */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerEntry } from '@scratchpack/oci';

export async function entriesOf(root: string): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const visit = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = await stat(abs);
      if (st.isDirectory()) {
        out.push({ type: 'dir', path, mode: st.mode & 0o7777 });
        await visit(abs, path);
      } else if (st.isFile()) {
        out.push({ type: 'file', path, mode: st.mode & 0o7777, source: abs });
      } else {
        throw new Error(`${abs}: only files and directories are expected in a benchmark tree`);
      }
    }
  };
  await visit(root, '');
  return out;
}
