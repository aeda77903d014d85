/**
 * Wall time and peak memory of a child process, measured by GNU time (`/usr/bin/time -f %M`, Debian package
 * `time`): the maximum resident set size of the process — for a process tree, of its largest waited-for member
 * (getrusage's ru_maxrss), not their sum, so a command runs alone here (no shell pipelines).
 */

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { run } from './exec.ts';
import { REPO } from './repo.ts';
import { secondsSince } from './stats.ts';

export const GNU_TIME = '/usr/bin/time';

export interface Measured {
  seconds: number;
  /** Peak resident set size in bytes. */
  peakBytes: number;
  stdout: string;
}

export interface MeasureOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A file for standard input (default: none). */
  stdin?: string;
  /** A file for standard output (default: captured and returned). */
  stdout?: string;
  /** A scratch directory for GNU time's report. */
  scratch: string;
}

let counter = 0;

/** Run `cmd args…` under GNU time; throws with the command and its stderr tail when it fails. */
export async function measure(cmd: string, args: readonly string[], o: MeasureOptions): Promise<Measured> {
  const report = join(o.scratch, `time-${process.pid}-${++counter}.txt`);
  const stdin = o.stdin ? openSync(o.stdin, 'r') : 'ignore';
  const stdout = o.stdout ? openSync(o.stdout, 'w') : 'pipe';
  const start = performance.now();
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(GNU_TIME, ['-f', '%M', '-o', report, cmd, ...args], {
        cwd: o.cwd,
        env: o.env ?? process.env,
        stdio: [stdin, stdout, 'pipe'],
      });
      let text = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => {
        text += d.toString();
      });
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.once('error', reject);
      child.once('close', (code) =>
        code === 0
          ? resolve(text)
          : reject(new Error(`\`${[cmd, ...args].join(' ')}\` exited ${code}:\n${err.slice(-2000)}`)),
      );
    });
    const seconds = secondsSince(start);
    const kib = Number((await readFile(report, 'utf8')).trim().split('\n').at(-1));
    if (!Number.isFinite(kib) || kib <= 0) throw new Error(`GNU time reported no peak RSS for ${cmd}`);
    return { seconds, peakBytes: kib * 1024, stdout: out };
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
    if (typeof stdout === 'number') closeSync(stdout);
    await rm(report, { force: true });
  }
}

/** `123 MB` peak memory (decimal MB, as the other figures). */
export function peakMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

/**
 * Make the CLI's prebuilt bundle current (as `pnpm build:images` leaves it), so the figures are of the CLI users
 * run rather than of the sources through tsx (which adds about 40 MB and 0.3 s of start-up).
 */
export async function ensureCliBundle(log: (line: string) => void): Promise<void> {
  const inputs = join(REPO, 'apps', 'cli', 'bin', 'inputs.cjs');
  const { BUNDLE_INPUTS, inputsHash } = createRequire(import.meta.url)(inputs) as {
    BUNDLE_INPUTS: string;
    inputsHash: () => string;
  };
  const current = await readFile(BUNDLE_INPUTS, 'utf8').then(
    (s) => s.trim() === inputsHash(),
    () => false,
  );
  if (current) return;
  log('the CLI bundle is not current: building it (pnpm --filter scratchpack build)');
  await run('pnpm', ['--filter', 'scratchpack', 'build'], { cwd: REPO });
}
