/** Flags shared by the commands that talk to registries: credentials, TLS, retries. */

import { type ClientOptions, DEFAULT_TIMEOUT_MS, type WaitEvent } from '@scratchpack/registry';
import type { Command } from 'commander';
import { UsageError } from './errors.ts';
import { runSignal } from './interrupt.ts';
import { warn } from './safe-text.ts';

export interface RegistryFlags {
  username?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
  concurrency?: string;
  timeout?: string;
}

export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option('-u, --username <name>', 'registry user name (password from --password-stdin)')
    .option('--password-stdin', 'read the password or token from standard input')
    .option('--insecure', 'allow plain HTTP to a non-loopback registry (loopback always uses HTTP)')
    .option(
      '--concurrency <n>',
      'blobs over 1 MiB transferred at once (smaller ones and manifests go 16 at a time)',
      '4',
    )
    .option(
      '--timeout <seconds>',
      `give up on a registry that sends nothing (or next to nothing) for this long (default ${DEFAULT_TIMEOUT_MS / 1000}, env SCRATCHPACK_REGISTRY_TIMEOUT)`,
    );
}

/** `--timeout` or `SCRATCHPACK_REGISTRY_TIMEOUT`, in seconds → milliseconds (undefined: the library's default). */
export function timeoutMs(
  flag: string | undefined,
  env = process.env.SCRATCHPACK_REGISTRY_TIMEOUT,
): number | undefined {
  const [raw, from] = flag !== undefined ? [flag, '--timeout'] : [env, 'SCRATCHPACK_REGISTRY_TIMEOUT'];
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(seconds > 0) || seconds > 86_400) {
    throw new UsageError(
      `${from} ${JSON.stringify(raw)}: expected a number of seconds above 0 (at most 86400)`,
      'e.g. --timeout 120 for a slow registry',
    );
  }
  return Math.round(seconds * 1000);
}

/** The notice printed while a registry keeps us waiting (stderr; stdout stays clean for --json). */
export function waitNotice(e: WaitEvent): string {
  const what = e.phase === 'response' ? 'no answer to' : 'next to nothing received for';
  const path = e.url.replace(/^https?:\/\/[^/]+/, '');
  return `waiting for ${e.registry}: ${what} ${e.method} ${path} for ${Math.round(e.waitedMs / 1000)} s (giving up after ${Math.round(e.timeoutMs / 1000)} s; --timeout to change)`;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError(
      '--password-stdin: standard input is a terminal',
      'pipe the password: echo "$TOKEN" | scratchpack … --password-stdin',
    );
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export async function clientOptions(flags: RegistryFlags): Promise<ClientOptions & { concurrency: number }> {
  const concurrency = Number(flags.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(`--concurrency ${flags.concurrency}: expected a whole number from 1 to 64`);
  }
  // Ctrl-C cancels every request of the run (see interrupt.ts).
  const o: ClientOptions & { concurrency: number } = { concurrency, signal: runSignal() };
  const timeout = timeoutMs(flags.timeout);
  if (timeout !== undefined) o.timeoutMs = timeout;
  // Every command that talks to a registry (push, pull, build's parents) says what it is waiting for.
  o.onWait = (e) => warn(`${waitNotice(e)}\n`);
  if (flags.insecure) o.insecure = true;
  if (flags.passwordStdin) {
    if (!flags.username) throw new UsageError('--password-stdin needs --username');
    o.username = flags.username;
    o.password = await readStdin();
    if (!o.password) throw new UsageError('--password-stdin: standard input was empty');
  } else if (flags.username) {
    throw new UsageError(
      '--username needs --password-stdin',
      'echo "$TOKEN" | scratchpack push … -u NAME --password-stdin',
    );
  }
  return o;
}
