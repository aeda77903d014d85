/** What machine and which tool versions produced the figures. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { resolveZig } from '@scratchpack/toolchain';
import { versionOf } from './exec.ts';

export type Machine = Record<string, string>;

function cpuModel(): string {
  const fromOs = cpus()[0]?.model?.trim();
  if (fromOs) return fromOs;
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function osName(): string {
  try {
    const m = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? process.platform;
  } catch {
    return process.platform;
  }
}

export async function describeMachine(): Promise<Machine> {
  let zig = 'missing';
  try {
    const z = resolveZig();
    zig = `${z.version} (${z.source})`;
  } catch {
    // reported as missing
  }
  const [pnpm, turbo, gzip, pigz, tar, skopeo, registry, umoci, git] = await Promise.all([
    versionOf('pnpm'),
    versionOf('pnpm', ['exec', 'turbo', '--version']),
    versionOf('gzip'),
    versionOf('pigz'),
    versionOf('tar'),
    versionOf('skopeo'),
    versionOf('docker-registry', ['--version']),
    versionOf('umoci', ['--version']),
    versionOf('git'),
  ]);
  return {
    CPU: cpuModel(),
    cores: `${availableParallelism()}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    OS: `${osName()} (${process.platform}-${process.arch})`,
    node: process.version,
    pnpm,
    turbo,
    zig,
    gzip,
    pigz,
    tar,
    skopeo,
    'docker-registry': registry,
    umoci,
    git,
  };
}
