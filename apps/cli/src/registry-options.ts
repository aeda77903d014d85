/** Flags shared by the commands that talk to registries: credentials, TLS, retries. */

import type { ClientOptions } from '@scratchpack/registry';
import type { Command } from 'commander';
import { UsageError } from './errors.ts';

export interface RegistryFlags {
  username?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
  concurrency?: string;
}

export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option('-u, --username <name>', 'registry user name (password from --password-stdin)')
    .option('--password-stdin', 'read the password or token from standard input')
    .option('--insecure', 'allow plain HTTP to a non-loopback registry (loopback always uses HTTP)')
    .option('--concurrency <n>', 'blobs transferred at once', '4');
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
  const o: ClientOptions & { concurrency: number } = { concurrency };
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
