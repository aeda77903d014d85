/** Child processes for the benchmark: captured output, clear errors, and timing. */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { secondsSince } from './stats.ts';

const execFileAsync = promisify(execFile);

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Run `cmd args…`, return stdout; throw with the command and its stderr tail on failure. */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await runBoth(cmd, args, opts)).stdout;
}

/** {@link run}, returning stderr too. */
export async function runBoth(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    const tail = `${e.stdout ?? ''}\n${e.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(
      `\`${[cmd, ...args].join(' ')}\` failed${opts.cwd ? ` in ${opts.cwd}` : ''}: ${e.message}\n${tail}`,
    );
  }
}

/** Run a shell pipeline with bash (`set -o pipefail`), output discarded; resolves with its wall time in seconds. */
export async function timeShell(script: string, opts: RunOptions = {}): Promise<number> {
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -euo pipefail; ${script}`], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`\`${script}\` exited ${code}:\n${stderr.slice(-2000)}`)),
    );
  });
  return secondsSince(start);
}

/** Time `cmd args…` (output captured and discarded). */
export async function timeRun(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<number> {
  const start = performance.now();
  await run(cmd, args, opts);
  return secondsSince(start);
}

/** The first line of `cmd --version` (or the given args), or `missing`. */
export async function versionOf(cmd: string, args: readonly string[] = ['--version']): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, [...args], { timeout: 30_000 });
    return (stdout || stderr).trim().split('\n')[0]!.trim();
  } catch {
    return 'missing';
  }
}
