/**
 * Docker's word handling: split instruction arguments into words (quotes and the escape character
 * respected, positions kept) and expand `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}`, `${VAR-word}`,
 * `${VAR+word}` and `${VAR:?message}` with quote removal, as Docker does for ENV, ARG, COPY, WORKDIR, …
 */
import { ScratchpackError } from '@scratchpack/oci';
import { GO_SPACE } from './lines.ts';

export interface Word {
  /** The word as written (quotes and escapes kept). */
  raw: string;
  /** Offset of the word in the string it was split from. */
  start: number;
}

/**
 * Thrown by `expand` (code `DOCKERFILE_VARIABLE`) and `splitWords` (`DOCKERFILE_SYNTAX`); the caller turns it
 * into a positioned `DockerfileError` with the same code.
 */
export class ExpansionError extends ScratchpackError {
  declare readonly code: 'DOCKERFILE_VARIABLE' | 'DOCKERFILE_SYNTAX';
  constructor(
    message: string,
    readonly offset: number,
    code: ExpansionError['code'] = 'DOCKERFILE_VARIABLE',
  ) {
    super(code, message);
  }
}

const isSpace = (c: string) => GO_SPACE.test(c);

/** Split on unquoted, unescaped whitespace. Throws `ExpansionError` on an unterminated quote. */
export function splitWords(s: string, esc = '\\'): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isSpace(s[i]!)) i++;
    if (i >= s.length) break;
    const start = i;
    let quote: string | undefined;
    let quoteAt = 0;
    while (i < s.length && (quote || !isSpace(s[i]!))) {
      const c = s[i]!;
      if (c === esc && quote !== "'" && i + 1 < s.length) i += 2;
      else {
        if (!quote && (c === '"' || c === "'")) {
          quote = c;
          quoteAt = i;
        } else if (c === quote) quote = undefined;
        i++;
      }
    }
    if (quote) throw new ExpansionError(`unterminated ${quote} quote`, quoteAt, 'DOCKERFILE_SYNTAX');
    words.push({ raw: s.slice(start, i), start });
  }
  return words;
}

const NAME = /[A-Za-z0-9_]/;

/**
 * Expand variables and remove quotes in one word. `lookup` returns undefined for unset variables,
 * which expand to ''. Offsets in errors are relative to `s`.
 */
export function expand(s: string, lookup: (name: string) => string | undefined, esc = '\\'): string {
  let i = 0;
  const variable = (): string => {
    // s[i] === '$'
    const at = i;
    i++;
    if (s[i] === '{') {
      i++;
      const nameStart = i;
      while (i < s.length && NAME.test(s[i]!)) i++;
      const name = s.slice(nameStart, i);
      if (!name || /^[0-9]/.test(name))
        throw new ExpansionError(`bad substitution: expected a variable name after "\${"`, at);
      if (s[i] === '}') {
        i++;
        return lookup(name) ?? '';
      }
      if (i >= s.length) throw new ExpansionError(`missing "}" for \${${name}`, at);
      const colon = s[i] === ':';
      if (colon) i++;
      const op = s[i];
      if (op !== '-' && op !== '+' && op !== '?') {
        throw new ExpansionError(
          `unsupported modifier in \${${name}${colon ? ':' : ''}${op ?? ''}…}: use :- or :+`,
          at,
        );
      }
      i++;
      const word = inner('}');
      if (s[i] !== '}') throw new ExpansionError(`missing "}" for \${${name}`, at);
      i++;
      const value = lookup(name);
      const set = colon ? value !== undefined && value !== '' : value !== undefined;
      if (op === '-') return set ? value! : word;
      if (op === '+') return set ? word : '';
      if (!set) throw new ExpansionError(`${name}: ${word || 'is not set'}`, at);
      return value!;
    }
    const nameStart = i;
    if (/[0-9]/.test(s[i] ?? ''))
      i++; // $1: a positional parameter, always unset here
    else while (i < s.length && NAME.test(s[i]!)) i++;
    if (i === nameStart) return '$';
    return lookup(s.slice(nameStart, i)) ?? '';
  };
  const inner = (stop: string | undefined): string => {
    let out = '';
    while (i < s.length && s[i] !== stop) {
      const c = s[i]!;
      if (c === "'") {
        const end = s.indexOf("'", i + 1);
        if (end < 0) throw new ExpansionError('unterminated single quote', i);
        out += s.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        const open = i;
        i++;
        while (i < s.length && s[i] !== '"') {
          const d = s[i]!;
          if (d === esc && (s[i + 1] === '"' || s[i + 1] === '$' || s[i + 1] === esc)) {
            out += s[i + 1];
            i += 2;
          } else if (d === '$') out += variable();
          else {
            out += d;
            i++;
          }
        }
        if (s[i] !== '"') throw new ExpansionError('unterminated double quote', open);
        i++;
      } else if (c === esc) {
        // The escape character takes the next one literally; at the very end it is dropped (BuildKit shell/lex.go).
        out += s[i + 1] ?? '';
        i += 2;
      } else if (c === '$') out += variable();
      else {
        out += c;
        i++;
      }
    }
    return out;
  };
  return inner(undefined);
}
