/** Linux process checks for tests that must show a child was killed (zig and the compilers it started). */
import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of the processes whose command line names `marker`. */
export function processesNaming(marker: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
