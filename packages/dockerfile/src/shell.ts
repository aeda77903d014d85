/**
 * Does an image built FROM scratch have a `/bin/sh`? Only when a COPY or ADD of this build put one there, so the
 * headers of the layers this build added are read (contents are skipped). Asked only for a shell-form command,
 * which needs `/bin/sh` to run at all.
 */
import { posix } from 'node:path';
import { type Layer, uncompressed } from '@scratchpack/oci';
import tar from 'tar-stream';
import { type EvalState, fail } from './state.ts';

const clean = (p: string) => posix.normalize(`/${p}`).replace(/\/+$/, '') || '/';

/** Resolve `path` through the symlinks among `links` (absolute, at most a few hops). */
function resolve(path: string, links: Map<string, string>): string {
  let p = path;
  for (let hops = 0; hops < 16; hops++) {
    const parts = p.split('/').filter(Boolean);
    let changed = false;
    for (let i = 1; i <= parts.length; i++) {
      const prefix = `/${parts.slice(0, i).join('/')}`;
      const target = links.get(prefix);
      if (target === undefined) continue;
      const base = target.startsWith('/') ? target : posix.join(posix.dirname(prefix), target);
      p = clean(posix.join(base, ...parts.slice(i)));
      changed = true;
      break;
    }
    if (!changed) return p;
  }
  return p;
}

/** True when the layers (in order) leave a file or symlink at `/bin/sh` (following `bin → usr/bin`). */
export async function layersHaveShell(layers: readonly Layer[]): Promise<boolean> {
  const present = new Set<string>();
  const links = new Map<string, string>();
  for (const layer of layers) {
    const extract = tar.extract();
    const source = uncompressed(layer);
    source.on('error', (e) => extract.destroy(e));
    source.pipe(extract as unknown as NodeJS.WritableStream);
    for await (const entry of extract) {
      const h = entry.header;
      const path = clean(h.name);
      const base = posix.basename(path);
      if (base.startsWith('.wh.')) {
        present.delete(posix.join(posix.dirname(path), base.slice(4)));
        links.delete(posix.join(posix.dirname(path), base.slice(4)));
      } else if (h.type === 'symlink' && h.linkname) {
        links.set(path, h.linkname);
        present.add(path);
      } else if (h.type === 'file' || h.type === 'link' || h.type === 'contiguous-file') {
        present.add(path);
      }
      entry.resume();
    }
  }
  const sh = resolve('/bin/sh', links);
  return present.has(sh) && !links.has(sh);
}

/**
 * A shell-form command (`CMD echo hi`, or an exec form broken as `CMD ["/hello",` — which Docker also reads as a
 * shell command) runs `/bin/sh -c …`: in an image FROM scratch it can only work if this build copied a shell in.
 * Otherwise the build fails here, at the instruction, instead of producing an image that cannot start.
 */
export async function checkShellForm(st: EvalState): Promise<void> {
  if (!st.fromScratch) return;
  const keyword = st.config.Entrypoint?.length ? 'ENTRYPOINT' : 'CMD';
  const cmd = keyword === 'ENTRYPOINT' ? st.config.Entrypoint : st.config.Cmd;
  if (cmd?.length !== 3 || cmd[0] !== '/bin/sh' || cmd[1] !== '-c') return;
  const ins = st.df.instructions.findLast((i) => i.keyword === keyword && !i.json);
  if (!ins || (await layersHaveShell(st.added.map((a) => a.layer)))) return;
  const jsonLike = ins.args.trimStart().startsWith('[');
  fail(
    st,
    ins,
    'DOCKERFILE_BAD_ARGUMENT',
    jsonLike
      ? `${ins.args.trim()} looks like the exec form but is not a valid JSON array of strings, so it is a shell command (/bin/sh -c …), and this FROM scratch image has no /bin/sh`
      : `the shell form runs /bin/sh -c ${JSON.stringify(ins.args.trim())}, and this FROM scratch image has no /bin/sh`,
    {
      hint: jsonLike
        ? `fix the JSON: double-quoted strings, commas between them, a closing ] — e.g. ${keyword} ["/hello"]`
        : `use the exec form: ${keyword} ["/prog", "arg"]`,
    },
  );
}
