/**
 * `run --no-sandbox` (unsafe): the program runs on the host's filesystem, as before containers: under
 * qemu-user `-L <rootfs>` makes its absolute paths resolve inside the rootfs first (falling back to the
 * host's), natively it runs with the rootfs as its working directory. Only for static scratch images.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { join, posix } from 'node:path';
import { resolveInRoot } from '@scratchpack/oci';
import type { Runner } from '@scratchpack/toolchain';

export async function runOnHost(o: {
  root: string;
  exe: string;
  argv: string[];
  workdir: string;
  env: Record<string, string>;
  runner: Runner;
  /** The caller's hand-over: registers the function that delivers a signal to the program, returns its release. */
  forwardSignals?: (deliver: (sig: NodeJS.Signals) => void) => () => void;
}): Promise<number> {
  const cwd = await resolveInRoot(o.root, posix.normalize(`/${o.workdir}`), { followLast: true });
  await mkdir(cwd, { recursive: true });
  const host = join(o.root, o.exe);
  const command = o.runner.kind === 'native' ? host : o.runner.command!;
  const args =
    o.runner.kind === 'native'
      ? o.argv.slice(1)
      : [...o.runner.prefixArgs, '-L', o.root, '-0', o.argv[0]!, host, ...o.argv.slice(1)];
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: o.env, stdio: 'inherit' });
    const release = o.forwardSignals?.((sig) => child.kill(sig));
    child.on('error', (e) => {
      release?.();
      reject(e);
    });
    child.on('exit', (code, signal) => {
      release?.();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
