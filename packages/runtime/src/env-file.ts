/**
 * `--env-file FILE` as Docker reads it: one `KEY=VALUE` a line (the value verbatim, up to the line's end), blank
 * lines and lines starting with `#` ignored, a bare `KEY` taking the caller's value (left out when the caller has
 * none). Leading whitespace is ignored; a name with whitespace in it, or no name, is an error naming the line.
 */
import { readFile } from 'node:fs/promises';
import { RuntimeInputError } from './errors.ts';

/** The `KEY=VALUE` entries of env file text `text` (named `file` in errors), bare keys resolved from `env`. */
export function parseEnvFile(text: string, file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq);
    const where = `${file}:${i + 1}`;
    if (key === '')
      throw new RuntimeInputError(
        `${where}: no variable name before "=" in "${line}"`,
        'write KEY=VALUE, or KEY alone to pass on the value it has here',
      );
    if (/\s/.test(key))
      throw new RuntimeInputError(
        `${where}: variable name "${key}" has whitespace in it`,
        'write KEY=VALUE with no spaces around the name, or comment the line out with #',
      );
    if (eq !== -1) out.push(line);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
  }
  return out;
}

/** `parseEnvFile` of the file at `path`; a missing or unreadable file is an error saying so. */
export async function readEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RuntimeInputError(
      `--env-file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'name an existing file of KEY=VALUE lines',
    );
  }
  return parseEnvFile(text, path, env);
}
