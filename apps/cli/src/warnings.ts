/** Dockerfile warnings as the CLI prints them: on stderr, each once (every platform's evaluation reports them). */
import type { Warning } from '@scratchpack/dockerfile';
import { warn } from './safe-text.ts';

export function warnOnce(write: (line: string) => void = warn): (w: Warning) => void {
  const seen = new Set<string>();
  return (w) => {
    const line = `warning [${w.code}]: ${w.file}:${w.line}:${w.column}: ${w.message}`;
    if (seen.has(line)) return;
    seen.add(line);
    write(`${line}\n`);
  };
}
