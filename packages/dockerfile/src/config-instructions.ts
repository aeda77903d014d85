/** Instructions that only change the image config: ENV, LABEL, USER, WORKDIR, EXPOSE, STOPSIGNAL, VOLUME, CMD, ENTRYPOINT. */
import { posix } from 'node:path';
import type { Instruction } from './parser.ts';
import {
  commitHistory,
  type EvalState,
  expandAt,
  fail,
  fieldsOf,
  keyValues,
  lookup,
  warn,
  wordsOf,
} from './state.ts';

function setEnv(st: EvalState, key: string, value: string): void {
  const env = [...(st.config.Env ?? [])];
  const i = env.findIndex((e) => e.slice(0, e.indexOf('=')) === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
  st.config.Env = env;
}

/**
 * One expanded argument: the whole rest of the line, as BuildKit takes it (line_parsers.go parseString), so
 * `WORKDIR /my dir` is `/my dir`. USER and STOPSIGNAL (`oneWord`) refuse a second word, which could only give an
 * image that does not start.
 */
function single(st: EvalState, ins: Instruction, oneWord = true): string {
  if (!ins.args) fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', `${ins.keyword} needs an argument`);
  const words = oneWord ? wordsOf(st, ins) : [];
  if (words.length > 1)
    fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', `${ins.keyword} takes exactly one argument`, {
      at: ins.positionAt(words[1]!.start),
    });
  return expandAt(st, ins, ins.args, 0, lookup(st));
}

/** Go's fmt of a map[string]struct{} as BuildKit writes it in history: `map[80/tcp:{} 53/udp:{}]`. */
const goSet = (keys: string[]) =>
  `map[${[...keys]
    .sort()
    .map((k) => `${k}:{}`)
    .join(' ')}]`;
/** Go's %q of a []string: `["/hello" "a b"]`. */
const goQuoted = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

export const configHandlers: Record<string, (st: EvalState, ins: Instruction) => void> = {
  ENV(st, ins) {
    const pairs = keyValues(st, ins, lookup(st), true);
    for (const { key, value } of pairs) setEnv(st, key, value);
    commitHistory(st, `ENV ${pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`);
  },

  LABEL(st, ins) {
    const pairs = keyValues(st, ins, lookup(st), true);
    st.config.Labels = { ...(st.config.Labels ?? {}) };
    for (const { key, value } of pairs) st.config.Labels[key] = value;
    commitHistory(st, `LABEL ${pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`);
  },

  USER(st, ins) {
    const user = single(st, ins);
    if (!/^[^:\s]+(:[^:\s]+)?$/.test(user))
      fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', `invalid user ${JSON.stringify(user)}: expected user[:group]`);
    st.config.User = user;
    commitHistory(st, `USER ${user}`);
  },

  WORKDIR(st, ins) {
    const dir = single(st, ins, false);
    const abs = posix.resolve('/', st.config.WorkingDir || '/', dir);
    st.config.WorkingDir = abs;
    commitHistory(st, `WORKDIR ${abs}`);
  },

  EXPOSE(st, ins) {
    const look = lookup(st);
    const ports: string[] = [];
    const words = fieldsOf(ins);
    if (words.length === 0) fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', 'EXPOSE needs at least one port');
    for (const w of words) {
      const v = expandAt(st, ins, w.raw, w.start, look);
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(v);
      const lo = Number(m?.[1]);
      const hi = m?.[2] === undefined ? lo : Number(m[2]);
      if (!m || lo < 1 || hi > 65535 || hi < lo) {
        fail(
          st,
          ins,
          'DOCKERFILE_BAD_ARGUMENT',
          `invalid port ${JSON.stringify(v)}: expected PORT[/tcp|/udp|/sctp] or a range like 8000-8010`,
          {
            at: ins.positionAt(w.start),
          },
        );
      }
      for (let p = lo; p <= hi; p++) ports.push(`${p}/${(m[3] ?? 'tcp').toLowerCase()}`);
    }
    st.config.ExposedPorts = { ...(st.config.ExposedPorts ?? {}) };
    for (const p of ports) st.config.ExposedPorts[p] = {};
    commitHistory(st, `EXPOSE ${goSet(ports)}`);
  },

  STOPSIGNAL(st, ins) {
    const sig = single(st, ins);
    if (!/^(SIG[A-Z0-9+-]+|[A-Z][A-Z0-9+-]*|\d+)$/.test(sig)) {
      fail(
        st,
        ins,
        'DOCKERFILE_BAD_ARGUMENT',
        `invalid signal ${JSON.stringify(sig)}: use a name like SIGTERM or a number`,
      );
    }
    st.config.StopSignal = sig;
    commitHistory(st, `STOPSIGNAL ${sig}`);
  },

  VOLUME(st, ins) {
    const look = lookup(st);
    const paths = ins.json ?? fieldsOf(ins).map((w) => expandAt(st, ins, w.raw, w.start, look));
    if (paths.length === 0 || paths.some((p) => !p.trim()))
      fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', 'VOLUME needs at least one non-empty path');
    st.config.Volumes = { ...(st.config.Volumes ?? {}) };
    for (const p of paths) st.config.Volumes[p] = {};
    commitHistory(st, `VOLUME ${goQuoted(paths).replace(/"/g, '')}`);
  },

  CMD(st, ins) {
    st.config.Cmd = command(st, ins);
    st.cmdSet = true;
    commitHistory(st, `CMD ${goQuoted(st.config.Cmd)}`);
  },

  ENTRYPOINT(st, ins) {
    st.config.Entrypoint = command(st, ins);
    // As Docker: a new ENTRYPOINT drops a CMD inherited from the base image.
    if (!st.cmdSet) delete st.config.Cmd;
    commitHistory(st, `ENTRYPOINT ${goQuoted(st.config.Entrypoint)}`);
  },
};

/**
 * Exec form as is; shell form becomes `/bin/sh -c "…"` as Docker does (and a warning on scratch, where the
 * evaluator then also checks that the build copied a `/bin/sh` in).
 */
function command(st: EvalState, ins: Instruction): string[] {
  if (ins.json) return ins.json;
  if (!ins.args) fail(st, ins, 'DOCKERFILE_BAD_ARGUMENT', `${ins.keyword} needs a command`);
  if (st.fromScratch) {
    warn(
      st,
      ins,
      'SHELL_FORM_ON_SCRATCH',
      `${ins.keyword} in shell form runs /bin/sh -c, which a FROM scratch image has only if the build copies one in; the exec form ${ins.keyword} ["/prog", "arg"] needs no shell (and passes signals)`,
    );
  }
  return ['/bin/sh', '-c', ins.args];
}
