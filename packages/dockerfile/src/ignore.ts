/**
 * `.dockerignore` with Docker's semantics (moby/patternmatcher): one pattern a line, `#` comments, `!` for an
 * exception; `*`, `?`, `[a-z]` / `[^a-z]` classes, `\` escapes and `**` for any number of directories. A path is
 * excluded when the last pattern matching it — or one of its parent directories — is not an exception. An
 * excluded directory is still walked when an exception could match something below it (`sub` + `!sub/keep`
 * keeps `sub/keep`). A pattern that is not valid is an error naming the file and line, as Docker refuses it.
 */
import { posix } from 'node:path';
import { ScratchpackError } from '@scratchpack/oci';

export class IgnorePatternError extends ScratchpackError {
  declare readonly code: 'DOCKERFILE_IGNORE_PATTERN';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(
      'DOCKERFILE_IGNORE_PATTERN',
      `${file}:${line}: invalid pattern ${JSON.stringify(pattern)}: ${reason}`,
    );
  }
}

interface Rule {
  re: RegExp;
  negate: boolean;
  /** Per path component: a matcher, or `**` (any number of components). */
  parts: (RegExp | '**')[];
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** One character of a class (Go's getEsc): `-` and `]` must be escaped, `\x` is x. */
function classChar(p: string, i: number): [string, number] {
  const c = p[i];
  if (c === undefined) throw new Error('unclosed [');
  if (c === '-' || c === ']') throw new Error(`bad character class: unexpected ${c}`);
  if (c === '\\') {
    if (i + 1 >= p.length) throw new Error('unclosed [');
    return [p[i + 1]!, i + 2];
  }
  return [c, i + 1];
}

/** `[…]` starting at `start`: the regex class and the index of its closing `]`. */
function charClass(p: string, start: number): [string, number] {
  let i = start + 1;
  const negate = p[i] === '^';
  if (negate) i++;
  let body = '';
  for (let n = 0; ; n++) {
    if (i >= p.length) throw new Error('unclosed [');
    if (p[i] === ']' && n > 0) break;
    const [lo, next] = classChar(p, i);
    i = next;
    if (p[i] === '-') {
      const [hi, after] = classChar(p, i + 1);
      if (hi < lo) throw new Error(`bad character class: range ${lo}-${hi} is backwards`);
      body += `${escapeRe(lo)}-${escapeRe(hi)}`;
      i = after;
    } else body += escapeRe(lo);
  }
  // A class never matches the separator (as in Go's filepath.Match).
  return [`(?:(?!/)[${negate ? '^' : ''}${body}])`, i];
}

/** A pattern (or one path component of it) as a RegExp source; throws an Error saying what is wrong. */
function compile(p: string): string {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= p.length) throw new Error('a trailing \\ escapes nothing');
      re += escapeRe(p[++i]!);
    } else if (c === '[') {
      const [cls, end] = charClass(p, i);
      re += cls;
      i = end;
    } else re += escapeRe(c);
  }
  return re;
}

/** Clean as Docker does (filepath.Clean, no leading `/`); `.` for the context root. */
function cleanPattern(p: string): string {
  const cleaned = posix.normalize(p).replace(/^\/+/, '').replace(/\/+$/, '');
  return cleaned === '' ? '.' : cleaned;
}

export class IgnoreRules {
  private constructor(private readonly rules: Rule[]) {}

  static readonly none = new IgnoreRules([]);

  /** Parse `.dockerignore` text; `file` names it in errors. */
  static parse(text: string, file = '.dockerignore'): IgnoreRules {
    const rules: Rule[] = [];
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const negate = line.startsWith('!');
      const body = (negate ? line.slice(1) : line).trim();
      const fail = (why: string) => new IgnorePatternError(file, index + 1, line, why);
      if (!body) throw fail('"!" needs a pattern after it');
      const p = cleanPattern(body);
      try {
        const re = new RegExp(`^${compile(p)}$`);
        const parts = p
          .split('/')
          .map((c) => (c.includes('**') ? ('**' as const) : new RegExp(`^${compile(c)}$`)));
        rules.push({ re, negate, parts });
      } catch (e) {
        throw fail((e as Error).message);
      }
    });
    return new IgnoreRules(rules);
  }

  /** True when `rel` (context-relative, `/`-separated) is excluded, by itself or through a parent. */
  isIgnored(rel: string): boolean {
    if (this.rules.length === 0) return false;
    const parts = rel.split('/');
    let ignored = false;
    for (const { re, negate } of this.rules) {
      if (negate !== ignored) continue;
      for (let k = parts.length; k >= 1; k--) {
        if (re.test(parts.slice(0, k).join('/'))) {
          ignored = !negate;
          break;
        }
      }
    }
    return ignored;
  }

  /** True when an exception could match something strictly below directory `rel`: walk into it. */
  mayIncludeBelow(rel: string): boolean {
    if (this.rules.length === 0) return false;
    const dir = rel.split('/');
    return this.rules.some(({ negate, parts }) => {
      if (!negate) return false;
      for (let i = 0; i < dir.length; i++) {
        const part = parts[i];
        if (part === undefined) return false;
        if (part === '**') return true;
        if (!part.test(dir[i]!)) return false;
      }
      return parts.length > dir.length;
    });
  }
}
