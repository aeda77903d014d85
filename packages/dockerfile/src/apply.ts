/**
 * Config-only Dockerfile instructions applied to an existing image — what `docker import --change` and
 * `docker commit --change` accept: CMD, ENTRYPOINT, ENV, LABEL, USER, WORKDIR, EXPOSE, STOPSIGNAL, VOLUME.
 * Same parser, same handlers (and so the same substitution and errors) as a Dockerfile.
 */
import { type Image, imageFromParts, rfc3339, toParts } from '@scratchpack/oci';
import { configHandlers } from './config-instructions.ts';
import type { Warning } from './errors.ts';
import { parse } from './parser.ts';
import { type EvalState, fail } from './state.ts';

/** The instructions `applyConfigInstructions` accepts, in Docker's `--change` order. */
export const CONFIG_INSTRUCTIONS: readonly string[] = Object.freeze(Object.keys(configHandlers));

export interface ApplyConfigOptions {
  /** Name for messages, e.g. `--change`. Default `--change`. */
  file?: string;
  /**
   * Record each instruction as an `empty_layer` history entry, as a Dockerfile build does. Default false,
   * as `docker import --change` (which keeps only the import's entry).
   */
  history?: boolean;
  /** Seconds since the epoch for recorded history entries. Default: the image's `created`. */
  sourceDateEpoch?: number;
}

export interface ApplyConfigResult {
  image: Image;
  warnings: Warning[];
}

/**
 * Apply config-only instructions (one per line, or an array with one instruction each) to `image`.
 * Anything else (COPY, RUN, FROM, …) is a `DockerfileError` naming the line.
 */
export async function applyConfigInstructions(
  image: Image,
  instructions: string | readonly string[],
  opts: ApplyConfigOptions = {},
): Promise<ApplyConfigResult> {
  const text = typeof instructions === 'string' ? instructions : instructions.join('\n');
  const df = parse(text, { file: opts.file ?? '--change' });
  const parts = await toParts(image);
  const cf = parts.config;
  const st: EvalState = {
    df,
    parts,
    added: [],
    history: [...(cf.history ?? [])],
    config: structuredClone(cf.config ?? {}),
    args: new Map(),
    buildArgs: {},
    usedBuildArgs: new Set(),
    predefined: {},
    platform: { os: cf.os, architecture: cf.architecture, ...(cf.variant ? { variant: cf.variant } : {}) },
    created: opts.sourceDateEpoch === undefined ? (cf.created ?? rfc3339(0)) : rfc3339(opts.sourceDateEpoch),
    fromScratch: false,
    cmdSet: false,
    warnings: [...df.warnings],
    sourceDateEpoch: opts.sourceDateEpoch ?? 0,
    compressionLevel: undefined,
  };
  for (const ins of df.instructions) {
    const handler = configHandlers[ins.keyword];
    if (!handler) {
      fail(
        st,
        ins,
        'DOCKERFILE_UNSUPPORTED',
        `${ins.keyword} cannot be applied as a change: only ${CONFIG_INSTRUCTIONS.join(', ')} change the config`,
        { hint: 'put files into the image with a Dockerfile (scratchpack build) instead' },
      );
    }
    handler(st, ins);
  }
  const history = opts.history ? st.history : (cf.history ?? []);
  const config = { ...cf, config: st.config, ...(history.length ? { history } : {}) };
  return { image: imageFromParts({ ...parts, config }), warnings: st.warnings };
}
