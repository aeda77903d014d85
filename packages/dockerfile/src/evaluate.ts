/**
 * The evaluator: a parsed Dockerfile + build context + target platform → an `Image`, the way BuildKit
 * would build the scratch subset: one deterministic layer per COPY/ADD, config-only steps as
 * `empty_layer` history entries, `created` from SOURCE_DATE_EPOCH.
 */
import {
  emptyImage,
  type Family,
  formatPlatform,
  hostPlatform,
  type Image,
  imageFromParts,
  normalizePlatform,
  type Platform,
  parsePlatform,
  rfc3339,
  toParts,
} from '@scratchpack/oci';
import { configHandlers } from './config-instructions.ts';
import { BuildContext, SourceError } from './context.ts';
import { copyInstruction } from './copy.ts';
import { DockerfileError, type Warning } from './errors.ts';
import { type Dockerfile, type Instruction, parse } from './parser.ts';
import { failMultiStage, refuseUnsupported, UNSUPPORTED } from './preflight.ts';
import { checkShellForm } from './shell.ts';
import { commitHistory, type EvalState, expandAt, fail, fieldsOf, lookup, wordsOf } from './state.ts';

export interface EvaluateOptions {
  /** The build context directory. */
  context: string;
  /** Target platform, e.g. `linux/arm64`. */
  platform: Platform | string;
  /** Platform of the builder, for BUILDPLATFORM & co. Default: this machine. */
  buildPlatform?: Platform | string;
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** Seconds since the epoch for mtimes and `created`. Default 0. */
  sourceDateEpoch?: number;
  /** gzip level for layers (COPY, ADD, ADD of a tar). Default 6. */
  compressionLevel?: number;
  /**
   * Called while this image's layers are packed (when they are first read): increments of the uncompressed tar
   * bytes written and of their expected total, summed over the layers.
   */
  onPackProgress?: (bytes: number, total: number) => void;
  /** Media type family of the result. Default `oci`. */
  family?: Family;
  /** Name for messages when `dockerfile` is text. */
  file?: string;
  /** Supplies the image for `FROM <ref>` (anything but scratch) for the target platform. */
  resolveBase?: (ref: string, platform: Platform) => Promise<Image>;
  /** Used for `FROM <ref>` when no `resolveBase` is given. */
  baseImage?: Image;
  /** Stops packing this image's layers (they are packed when first read): `AbortedError`. */
  signal?: AbortSignal | undefined;
  /**
   * Called for every regular file a COPY or ADD puts into the image (after later sources of the same
   * instruction replaced earlier ones), with its image path (`/app/prog`) and its first `headBytes` bytes,
   * as its layer is packed (when the layer is first read): e.g. to check that programs are built for the platform.
   */
  onAddedFile?: (path: string, head: Buffer) => void;
  /** How many bytes of each file `onAddedFile` gets (default 64: an ELF header). */
  headBytes?: number;
  /**
   * Hash each file COPY/ADD puts in (sha256, sha1) while its layer is packed, for an SBOM: oci's `layerFiles`
   * then answers without reading the layer back. Default false.
   */
  fileDigests?: boolean;
}

export interface EvaluateResult {
  image: Image;
  warnings: Warning[];
}

/** BuildKit's default PATH for Linux images, set on FROM scratch. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Predefined platform ARGs, BuildKit style (arm64's v8 and amd64 have no variant). */
function platformArgs(prefix: 'TARGET' | 'BUILD', p: Platform): Record<string, string> {
  const variant = p.architecture === 'arm64' && p.variant === 'v8' ? '' : (p.variant ?? '');
  return {
    [`${prefix}PLATFORM`]: [p.os, p.architecture, variant].filter(Boolean).join('/'),
    [`${prefix}OS`]: p.os,
    [`${prefix}ARCH`]: p.architecture,
    [`${prefix}VARIANT`]: variant,
  };
}

function argInstruction(
  st: EvalState,
  ins: Instruction,
  global: Map<string, string | undefined> | undefined,
): void {
  const words = wordsOf(st, ins);
  if (words.length === 0) fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', 'ARG needs a name');
  const look = lookup(st);
  const committed: string[] = [];
  for (const w of words) {
    const eq = w.raw.indexOf('=');
    const name = eq < 0 ? w.raw : w.raw.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', `invalid ARG name ${JSON.stringify(name)}`, {
        at: ins.positionAt(w.start),
      });
    let value: string | undefined;
    if (Object.hasOwn(st.buildArgs, name)) {
      value = st.buildArgs[name];
      st.usedBuildArgs.add(name);
    } else if (eq >= 0) value = expandAt(st, ins, w.raw.slice(eq + 1), w.start + eq + 1, look);
    else value = global?.get(name) ?? st.predefined[name];
    st.args.set(name, value);
    committed.push(value === undefined ? name : `${name}=${value}`);
  }
  if (!global) return; // global scope (before FROM): no history
  commitHistory(st, `ARG ${committed.join(' ')}`);
}

async function fromInstruction(
  st: EvalState,
  ins: Instruction,
  opts: EvaluateOptions,
  family: Family,
): Promise<void> {
  const look = (n: string) => st.args.get(n);
  for (const f of ins.flags) {
    if (f.name !== 'platform')
      fail(st, ins, 'DOCKERFILE_BAD_FLAG', `--${f.name} is not supported on FROM`, { at: f.position });
    const want = expandAt(st, ins, f.value ?? '', 0, look);
    let p: Platform;
    try {
      p = parsePlatform(want);
    } catch (e) {
      fail(st, ins, 'DOCKERFILE_BAD_FLAG', (e as Error).message, { at: f.position });
    }
    if (formatPlatform(p) !== formatPlatform(st.platform)) {
      fail(
        st,
        ins,
        'DOCKERFILE_UNSUPPORTED',
        `--platform=${want} differs from the target ${formatPlatform(st.platform)}; cross-platform stages are not supported`,
        { at: f.position },
      );
    }
  }
  const words = fieldsOf(ins);
  if (words.length !== 1 && !(words.length === 3 && words[1]!.raw.toUpperCase() === 'AS')) {
    fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', 'expected FROM <image> [AS <name>]');
  }
  const ref = expandAt(st, ins, words[0]!.raw, words[0]!.start, look);
  let base: Image;
  if (ref.toLowerCase() === 'scratch') {
    st.fromScratch = true;
    base = emptyImage({ family, platform: st.platform, sourceDateEpoch: st.sourceDateEpoch });
  } else if (opts.resolveBase) {
    try {
      base = await opts.resolveBase(ref, st.platform);
    } catch (e) {
      if (e instanceof DockerfileError) throw e;
      const err = e as { message?: string; hint?: unknown };
      fail(st, ins, 'DOCKERFILE_BASE_IMAGE', `cannot use ${ref}: ${err.message ?? String(e)}`, {
        at: ins.positionAt(words[0]!.start),
        ...(typeof err.hint === 'string' ? { hint: err.hint } : {}),
        cause: e,
      });
    }
  } else if (opts.baseImage) {
    base = opts.baseImage;
  } else {
    fail(st, ins, 'DOCKERFILE_BASE_IMAGE', `FROM ${ref}: only FROM scratch is built in`, {
      at: ins.positionAt(words[0]!.start),
      hint: 'pass resolveBase (the scratchpack CLI resolves oci:<layout>[:tag] and registry references)',
    });
  }
  st.parts = await toParts(base);
  // As BuildKit: a child does not inherit its parent's manifest annotations (they describe the parent).
  if (!st.fromScratch) delete st.parts.annotations;
  const cf = st.parts.config;
  if (!st.fromScratch && (cf.os !== st.platform.os || cf.architecture !== st.platform.architecture)) {
    fail(
      st,
      ins,
      'DOCKERFILE_BASE_IMAGE',
      `base image ${ref} is ${cf.os}/${cf.architecture}, not ${formatPlatform(st.platform)}`,
    );
  }
  st.config = structuredClone(cf.config ?? {});
  if (st.fromScratch) {
    st.config.Env = [DEFAULT_PATH];
    st.config.WorkingDir = '/';
  }
  st.history = [...(cf.history ?? [])];
}

/** Evaluate a Dockerfile for one platform; returns the image and warnings (never printed). */
export async function evaluateDockerfile(
  dockerfile: Dockerfile | string,
  opts: EvaluateOptions,
): Promise<EvaluateResult> {
  const df =
    typeof dockerfile === 'string' ? parse(dockerfile, { file: opts.file ?? 'Dockerfile' }) : dockerfile;
  const platform = normalizePlatform(
    typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform,
  );
  const build = opts.buildPlatform ?? hostPlatform();
  const buildPlatform = normalizePlatform(typeof build === 'string' ? parsePlatform(build) : build);
  const family = opts.family ?? 'oci';
  const sourceDateEpoch = opts.sourceDateEpoch ?? 0;
  const predefined = { ...platformArgs('TARGET', platform), ...platformArgs('BUILD', buildPlatform) };
  const st: EvalState = {
    df,
    parts: undefined as never,
    added: [],
    history: [],
    config: {},
    args: new Map(Object.entries(predefined)),
    buildArgs: { ...(opts.buildArgs ?? {}) },
    usedBuildArgs: new Set(),
    predefined,
    platform,
    created: rfc3339(sourceDateEpoch),
    fromScratch: false,
    cmdSet: false,
    warnings: [...df.warnings],
    sourceDateEpoch,
    compressionLevel: opts.compressionLevel,
    ...(opts.onPackProgress ? { onPackProgress: opts.onPackProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onAddedFile ? { onAddedFile: opts.onAddedFile, headBytes: opts.headBytes ?? 64 } : {}),
    ...(opts.fileDigests ? { fileDigests: true } : {}),
  };
  // What is sure to fail is reported before FROM pulls a parent.
  refuseUnsupported(st, df);
  let ctx: BuildContext | undefined;
  let globalArgs: Map<string, string | undefined> | undefined;
  for (const ins of df.instructions) {
    const k = ins.keyword;
    if (k === 'ARG') argInstruction(st, ins, globalArgs);
    else if (k === 'FROM') {
      if (globalArgs) failMultiStage(st, ins);
      await fromInstruction(st, ins, opts, family);
      globalArgs = st.args;
      st.args = new Map();
    } else if (!globalArgs)
      fail(st, ins, 'DOCKERFILE_NO_FROM', `${k} before FROM: only ARG may come before the first FROM`);
    else if (configHandlers[k]) configHandlers[k](st, ins);
    else if (k === 'COPY' || k === 'ADD') {
      try {
        ctx ??= await BuildContext.open(opts.context);
      } catch (e) {
        if (e instanceof SourceError) fail(st, ins, e.code, e.message, e.hint ? { hint: e.hint } : {});
        fail(
          st,
          ins,
          'DOCKERFILE_SOURCE_NOT_FOUND',
          `cannot open the build context ${opts.context}: ${(e as Error).message}`,
        );
      }
      await copyInstruction(st, ins, ctx);
    } else if (UNSUPPORTED[k])
      fail(st, ins, 'DOCKERFILE_UNSUPPORTED', UNSUPPORTED[k][0], { hint: UNSUPPORTED[k][1] });
    else fail(st, ins, 'DOCKERFILE_UNKNOWN_INSTRUCTION', `unknown instruction ${JSON.stringify(k)}`);
  }
  if (!globalArgs) {
    fail(st, undefined, 'DOCKERFILE_NO_FROM', 'no FROM instruction: start the Dockerfile with FROM scratch');
  }
  for (const name of Object.keys(st.buildArgs)) {
    if (!st.usedBuildArgs.has(name)) {
      st.warnings.push({
        code: 'UNUSED_BUILD_ARG',
        file: df.file,
        line: 1,
        column: 1,
        message: `build arg ${name} was not consumed by any ARG`,
      });
    }
  }
  await checkShellForm(st);
  const config = {
    ...st.parts.config,
    created: st.created,
    architecture: platform.architecture,
    os: platform.os,
    config: st.config,
    history: st.history,
  };
  if (platform.variant) config.variant = platform.variant;
  else delete config.variant;
  const image = imageFromParts({
    family,
    config,
    layers: [...st.parts.layers, ...st.added.map((a) => a.layer)],
    ...(st.parts.annotations ? { annotations: st.parts.annotations } : {}),
  });
  return { image, warnings: st.warnings };
}

/** Evaluate a Dockerfile for one platform into an `Image`. */
export async function evaluate(dockerfile: Dockerfile | string, opts: EvaluateOptions): Promise<Image> {
  return (await evaluateDockerfile(dockerfile, opts)).image;
}
