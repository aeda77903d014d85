/** The evaluator's working state for one stage, and helpers shared by the instruction handlers. */
import type { Addendum, ContainerConfig, History, ImageParts, Platform } from '@scratchpack/oci';
import { DockerfileError, type DockerfileErrorCode, type Position, type Warning } from './errors.ts';
import type { Dockerfile, Instruction } from './parser.ts';
import { ExpansionError, expand, splitWords, type Word } from './words.ts';

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

export interface EvalState {
  df: Dockerfile;
  parts: ImageParts;
  /** Layers added by this Dockerfile, with their history. */
  added: Addendum[];
  /** The full history (base + this build), in order; layers' entries included. */
  history: History[];
  config: ContainerConfig;
  /** ARGs declared in the current scope, with their values. */
  args: Map<string, string | undefined>;
  /** `--build-arg`s, and which ones were consumed. */
  buildArgs: Record<string, string>;
  usedBuildArgs: Set<string>;
  /** Predefined platform ARGs (TARGETPLATFORM, BUILDARCH, …). */
  predefined: Record<string, string>;
  platform: Platform;
  created: string;
  fromScratch: boolean;
  /** True once CMD was set in this Dockerfile (so ENTRYPOINT keeps it). */
  cmdSet: boolean;
  warnings: Warning[];
  sourceDateEpoch: number;
  compressionLevel: number | undefined;
  /** Packing progress of this image's layers, as increments (see `EvaluateOptions.onPackProgress`). */
  onPackProgress?: (bytes: number, total: number) => void;
  /** Stops packing the layers (see `EvaluateOptions.signal`). */
  signal?: AbortSignal;
  /** Told about every regular file COPY/ADD put in (see `EvaluateOptions.onAddedFile`). */
  onAddedFile?: (path: string, head: Buffer) => void;
  headBytes?: number;
  /** Hash added files while packing (see `EvaluateOptions.fileDigests`). */
  fileDigests?: boolean;
}

export function fail(
  st: { df: Dockerfile },
  ins: Instruction | undefined,
  code: DockerfileErrorCode,
  reason: string,
  opts: { at?: Position; hint?: string; cause?: unknown } = {},
): never {
  const at = opts.at ?? ins?.position ?? { line: 1, column: 1 };
  throw new DockerfileError(code, { file: st.df.file, ...at }, reason, {
    ...(ins ? { instruction: ins.keyword } : {}),
    ...(opts.hint ? { hint: opts.hint } : {}),
    ...(opts.cause ? { cause: opts.cause } : {}),
  });
}

export function warn(st: EvalState, ins: Instruction, code: string, message: string): void {
  st.warnings.push({ code, file: st.df.file, ...ins.position, message });
}

/** The value of a variable for substitution: ENV wins over ARG (as in Docker). */
export function lookup(st: EvalState): (name: string) => string | undefined {
  const env = new Map(
    (st.config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  return (name) => env.get(name) ?? st.args.get(name);
}

/** Expand one word taken from `ins.args` at `offset`, turning expansion errors into positioned errors. */
export function expandAt(
  st: { df: Dockerfile },
  ins: Instruction,
  raw: string,
  offset: number,
  look: (name: string) => string | undefined,
): string {
  try {
    return expand(raw, look, st.df.escape);
  } catch (e) {
    if (e instanceof ExpansionError) {
      const split = HAS_JSON_FORM.has(ins.keyword) && !ins.json && e.message.startsWith('unterminated');
      fail(st, ins, 'DOCKERFILE_VARIABLE', e.message, {
        at: ins.positionAt(offset + e.offset),
        ...(split
          ? {
              hint: `${ins.keyword} splits its arguments at blanks, quoted or not, as docker build does: write a path with spaces in the JSON form, e.g. ${ins.keyword} ["a b", "/dst/"]`,
            }
          : {}),
      });
    }
    throw e;
  }
}

/**
 * The arguments of FROM, EXPOSE and the shell form of COPY, ADD and VOLUME, split at blanks whether quoted or not,
 * as BuildKit does (line_parsers.go parseStringsWhitespaceDelimited); each is then expanded on its own, so
 * `COPY "a b" /x` is an unterminated quote, as with docker build.
 */
export function fieldsOf(ins: Instruction): Word[] {
  return [...ins.args.matchAll(/[^\t\v\f\r ]+/g)].map((m) => ({ raw: m[0], start: m.index }));
}

/** Shell-form instructions that split at blanks and have a JSON form for arguments with spaces. */
const HAS_JSON_FORM = new Set(['COPY', 'ADD', 'VOLUME']);

/** Split `ins.args` into words (quotes group, as for ENV, LABEL and ARG), with positioned errors. */
export function wordsOf(st: { df: Dockerfile }, ins: Instruction): Word[] {
  try {
    return splitWords(ins.args, st.df.escape);
  } catch (e) {
    if (e instanceof ExpansionError)
      fail(st, ins, 'DOCKERFILE_SYNTAX', e.message, { at: ins.positionAt(e.offset) });
    throw e;
  }
}

/** Record a config-only step in the history (`empty_layer: true`), BuildKit style. */
export function commitHistory(st: EvalState, createdBy: string): void {
  st.history.push({
    created: st.created,
    created_by: createdBy,
    comment: HISTORY_COMMENT,
    empty_layer: true,
  });
}

/**
 * `key=value …` pairs (ENV, LABEL, ARG with values), or the legacy `key value` form when the first word
 * has no `=` and `legacy` is allowed. Values are expanded with `look` (the state BEFORE this instruction).
 */
export function keyValues(
  st: EvalState,
  ins: Instruction,
  look: (name: string) => string | undefined,
  legacy: boolean,
): { key: string; value: string; at: Position }[] {
  const words = wordsOf(st, ins);
  if (words.length === 0)
    fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', `${ins.keyword} needs at least one key=value`);
  const first = words[0]!;
  if (!first.raw.includes('=')) {
    // BuildKit (line_parsers.go parseNameVal): the legacy `key value` splits the raw text at the first run of
    // blanks, quotes or not; the rest of the line is the value.
    const gap = /[\t\v\f\r ]+/.exec(ins.args);
    if (!legacy || !gap) {
      fail(
        st,
        ins,
        'DOCKERFILE_BAD_ARGUMENT',
        `${ins.keyword} expects key=value, got ${JSON.stringify(first.raw)}`,
        { at: ins.positionAt(first.start) },
      );
    }
    const restStart = gap.index + gap[0].length;
    return [
      {
        key: expandAt(st, ins, ins.args.slice(0, gap.index), 0, look),
        value: expandAt(st, ins, ins.args.slice(restStart), restStart, look),
        at: ins.positionAt(first.start),
      },
    ];
  }
  return words.map((w) => {
    const eq = w.raw.indexOf('=');
    if (eq <= 0)
      fail(
        st,
        ins,
        'DOCKERFILE_BAD_ARGUMENT',
        `${ins.keyword} expects key=value, got ${JSON.stringify(w.raw)}`,
        { at: ins.positionAt(w.start) },
      );
    const key = expandAt(st, ins, w.raw.slice(0, eq), w.start, look);
    if (!key)
      fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', `${ins.keyword} has an empty name`, {
        at: ins.positionAt(w.start),
      });
    return {
      key,
      value: expandAt(st, ins, w.raw.slice(eq + 1), w.start + eq + 1, look),
      at: ins.positionAt(w.start),
    };
  });
}
