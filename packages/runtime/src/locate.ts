/** Find the program inside the image as the container will see it (symlinks resolved inside the rootfs). */
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { ImageView } from './image-view.ts';

export type Located =
  | { status: 'found'; path: string; host: string }
  | { status: 'not-executable'; path: string }
  | { status: 'missing' };

async function probe(root: ImageView, inImage: string): Promise<Located> {
  const host = await root.host(inImage);
  const st = host ? await stat(host).catch(() => undefined) : undefined;
  if (!host || !st?.isFile()) return { status: 'missing' };
  // Any execute bit: inside the sandbox the program runs as the file's (mapped) owner or as root.
  if ((st.mode & 0o111) === 0) return { status: 'not-executable', path: inImage };
  return { status: 'found', path: inImage, host };
}

/** `program` as an image path: absolute, relative to `workdir`, or searched on the image's PATH. */
export async function locate(
  image: string | ImageView,
  program: string,
  workdir: string,
  path: string,
): Promise<Located> {
  const root = ImageView.of(image);
  if (program.includes('/')) {
    const inImage = posix.normalize(posix.isAbsolute(program) ? program : posix.join(workdir, program));
    return probe(root, inImage);
  }
  let notExecutable: Located | undefined;
  for (const dir of path.split(':').filter((d) => posix.isAbsolute(d))) {
    const r = await probe(root, posix.join(dir, program));
    if (r.status === 'found') return r;
    if (r.status === 'not-executable') notExecutable ??= r;
  }
  return notExecutable ?? { status: 'missing' };
}
