/** COPY and ADD: sources from the build context become one deterministic layer per instruction. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import {
  ContentSpool,
  cleanPath,
  type Layer,
  type LayerEntry,
  layerFromEntries,
  OciError,
  spoolTarEntries,
} from '@scratchpack/oci';
import { archiveKind, type BuildContext, type CopyOwnership, SourceError } from './context.ts';
import type { Instruction } from './parser.ts';
import { failCopyFrom } from './preflight.ts';
import { type EvalState, expandAt, fail, fieldsOf, HISTORY_COMMENT, lookup, warn } from './state.ts';

const ALLOWED_FLAGS: Record<string, string[]> = {
  COPY: ['chmod', 'chown', 'link', 'from'],
  ADD: ['chmod', 'chown', 'link', 'from'],
};

function ownership(st: EvalState, ins: Instruction): CopyOwnership {
  const own: CopyOwnership = {};
  const look = lookup(st);
  for (const f of ins.flags) {
    if (!ALLOWED_FLAGS[ins.keyword]!.includes(f.name)) {
      fail(
        st,
        ins,
        'DOCKERFILE_BAD_FLAG',
        `--${f.name} is not supported (supported: --chmod, --chown, --link)`,
        { at: f.position },
      );
    }
    if (f.name === 'from') failCopyFrom(st, ins, f.position);
    if (f.name === 'link') continue;
    const value = expandAt(st, ins, f.value ?? '', 0, look);
    if (f.name === 'chmod') {
      if (!/^[0-7]{3,4}$/.test(value)) {
        fail(st, ins, 'DOCKERFILE_BAD_FLAG', `--chmod=${value}: only octal modes like 0755 are supported`, {
          at: f.position,
        });
      }
      own.mode = Number.parseInt(value, 8);
    } else if (f.name === 'chown') {
      const m = /^(\d+)(?::(\d+))?$/.exec(value);
      if (!m) {
        fail(
          st,
          ins,
          'DOCKERFILE_BAD_FLAG',
          `--chown=${value}: only numeric uid[:gid] is supported; names need /etc/passwd, which a scratch image does not have`,
          {
            at: f.position,
            hint: 'use --chown=65532:65532 style numeric ids',
          },
        );
      }
      own.uid = Number(m[1]);
      own.gid = Number(m[2] ?? m[1]);
    }
  }
  return own;
}

/** `COPY`/`ADD`: one layer with every source, created_by `COPY … # buildkit`. */
/**
 * docker's limit for overlay2 (and containerd's overlay snapshotter): 127 layers in one image; past it the image
 * builds but no overlay-based runtime can run it. Refused at the COPY/ADD that would make layer 128.
 */
export const MAX_LAYERS = 127;

export async function copyInstruction(st: EvalState, ins: Instruction, ctx: BuildContext): Promise<void> {
  const layers = st.parts.layers.length + st.added.length;
  if (layers >= MAX_LAYERS)
    fail(
      st,
      ins,
      'DOCKERFILE_TOO_MANY_LAYERS',
      `${ins.keyword} would make layer ${layers + 1}: an image has at most ${MAX_LAYERS} layers (docker's overlay2 limit; ${st.parts.layers.length} from the base, ${st.added.length} added so far)`,
      { hint: 'copy several sources in one instruction (COPY a b c /dest/) or a whole directory' },
    );
  const own = ownership(st, ins);
  const look = lookup(st);
  const items: { value: string; offset: number }[] = ins.json
    ? ins.json.map((v) => ({ value: expandAt(st, ins, v, 0, look), offset: 0 }))
    : fieldsOf(ins).map((w) => ({ value: expandAt(st, ins, w.raw, w.start, look), offset: w.start }));
  if (items.length < 2)
    fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', `${ins.keyword} needs at least one source and a destination`);
  const destItem = items.pop()!;
  const dest = destItem.value;
  const destIsDir =
    dest.endsWith('/') || dest === '.' || dest.endsWith('/.') || dest === '..' || dest.endsWith('/..');
  const destPath = cleanPath(posix.resolve('/', st.config.WorkingDir || '/', dest));

  const matched: { rel: string; real: string; offset: number }[] = [];
  for (const item of items) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(item.value) || item.value.startsWith('git@')) {
      fail(
        st,
        ins,
        'DOCKERFILE_UNSUPPORTED',
        `remote sources (${item.value}) are not supported: builds read only the local context`,
        {
          at: ins.positionAt(item.offset),
          hint: 'download the file into the build context first',
        },
      );
    }
    try {
      for (const m of await ctx.match(item.value)) matched.push({ ...m, offset: item.offset });
    } catch (e) {
      if (e instanceof SourceError)
        fail(st, ins, e.code, e.message, {
          at: ins.positionAt(item.offset),
          ...(e.hint ? { hint: e.hint } : {}),
        });
      throw e;
    }
  }
  if (matched.length > 1 && !destIsDir) {
    fail(
      st,
      ins,
      'DOCKERFILE_BAD_ARGUMENT',
      `with more than one source file the destination must be a directory ending in /, got ${JSON.stringify(dest)}`,
      {
        at: ins.positionAt(destItem.offset),
      },
    );
  }

  const byPath = new Map<string, LayerEntry>();
  // The entries of a single walked source, whose paths are distinct already: no later source or archive entry can
  // replace one, so they go to the layer as they are, without a map of every path (25,000 files: ~20 ms).
  let walked: LayerEntry[] | undefined;
  const notes: string[] = [];
  // Contents of ADDed archives wait in a temp file until the layer is packed, here, before it is removed.
  let spool: ContentSpool | undefined;
  try {
    for (const src of matched) {
      try {
        let entries: LayerEntry[];
        const isDir = (await stat(src.real)).isDirectory();
        const kind = ins.keyword === 'ADD' && !isDir ? await archiveKind(src.real) : 'other';
        if (kind === 'unsupported-archive') {
          throw new SourceError(
            'DOCKERFILE_UNSUPPORTED',
            `${JSON.stringify(src.rel)} is a bzip2/xz archive; ADD extracts only tar and tar.gz here`,
            'recompress it as .tar.gz, or use COPY to copy it unextracted',
          );
        }
        if (kind === 'tar' || kind === 'tar.gz') {
          spool ??= await ContentSpool.create();
          const inner = await spoolTarEntries(createReadStream(src.real), spool, {
            source: src.rel,
            file: src.real,
            whiteouts: 'refuse',
          });
          entries = inner.map((e) => ({ ...e, path: posix.join(destPath, cleanPath(e.path)) }) as LayerEntry);
          entries = entries.map((e) =>
            e.type === 'hardlink' ? { ...e, target: posix.join(destPath, e.target) } : e,
          );
        } else {
          const target = isDir || !destIsDir ? destPath : posix.join(destPath, basename(src.rel));
          entries = await ctx.entries(src, target, own, notes);
          if (matched.length === 1) walked = entries;
        }
        if (!walked) for (const e of entries) byPath.set(cleanPath(e.path), e);
      } catch (e) {
        if (e instanceof SourceError)
          fail(st, ins, e.code, e.message, {
            at: ins.positionAt(src.offset),
            ...(e.hint ? { hint: e.hint } : {}),
          });
        if (e instanceof OciError)
          fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', e.message, { at: ins.positionAt(src.offset), cause: e });
        throw e;
      }
    }
    for (const n of notes) warn(st, ins, 'SKIPPED_SOURCE', n);
    let layer: Layer;
    try {
      layer = layerFromEntries(walked ?? [...byPath.values()], {
        sourceDateEpoch: st.sourceDateEpoch,
        ...(st.compressionLevel !== undefined ? { compressionLevel: st.compressionLevel } : {}),
        ...progressOf(st),
        signal: st.signal,
        ...(st.fileDigests ? { fileDigests: true } : {}),
        ...onFileOf(st),
      });
      if (spool) {
        spool.close();
        await layer.digest();
      }
    } catch (e) {
      if (e instanceof OciError) fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', e.message, { cause: e });
      throw e;
    }
    const history = {
      created: st.created,
      created_by: `${ins.original} # buildkit`,
      comment: HISTORY_COMMENT,
    };
    st.added.push({ layer, history });
    st.history.push(history);
  } finally {
    await spool?.remove();
  }
}

/**
 * `st.onAddedFile` told about every regular file of the layer with its first bytes, as the layer is packed (its
 * body is read then anyway: no open and read of each file only for its header).
 */
function onFileOf(st: EvalState): { onFile?: (path: string, head: Buffer) => void } {
  const told = st.onAddedFile;
  if (!told) return {};
  const want = st.headBytes ?? 64;
  return { onFile: (path, head) => told(`/${path}`, head.subarray(0, want)) };
}

/** The layer's progress (absolute, per layer) as increments of the image's (see EvaluateOptions.onPackProgress). */
function progressOf(st: EvalState): { onProgress?: (bytes: number, total: number) => void } {
  const report = st.onPackProgress;
  if (!report) return {};
  let bytes = 0;
  let total = 0;
  return {
    onProgress: (b, t) => {
      report(b - bytes, t - total);
      bytes = b;
      total = t;
    },
  };
}
