/** The one mapping from a Node process to an OCI platform, for every `process.arch` the platform matrix knows. */
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { formatPlatform, hostPlatform, type NodeHost, platformOfNode } from '../src/index.ts';

const on = (a: string, more: Partial<NodeHost> = {}) =>
  formatPlatform(platformOfNode({ platform: 'linux', arch: a, endianness: 'LE', ...more }));

describe('platformOfNode', () => {
  it("maps each Node process.arch to Go's architecture", () => {
    expect(on('x64')).toBe('linux/amd64');
    expect(on('ia32')).toBe('linux/386');
    expect(on('arm64')).toBe('linux/arm64/v8');
    expect(on('loong64')).toBe('linux/loong64');
    expect(on('mips', { endianness: 'BE' })).toBe('linux/mips');
    expect(on('mipsel')).toBe('linux/mipsle');
    expect(on('mips64el')).toBe('linux/mips64le');
    expect(on('riscv64')).toBe('linux/riscv64');
    expect(on('s390x', { endianness: 'BE' })).toBe('linux/s390x');
  });

  it('tells ppc64 from ppc64le by byte order (Node says ppc64 for both)', () => {
    expect(on('ppc64', { endianness: 'BE' })).toBe('linux/ppc64');
    expect(on('ppc64', { endianness: 'LE' })).toBe('linux/ppc64le');
  });

  it('gives arm the variant Node was built for, v7 when the build does not say', () => {
    expect(on('arm', { armVersion: '5' })).toBe('linux/arm/v5');
    expect(on('arm', { armVersion: '6' })).toBe('linux/arm/v6');
    expect(on('arm', { armVersion: 7 })).toBe('linux/arm/v7');
    expect(on('arm', { armVersion: 'default' })).toBe('linux/arm/v7');
    expect(on('arm')).toBe('linux/arm/v7');
  });

  it("keeps the host's os, with Go's name for Windows", () => {
    expect(formatPlatform(platformOfNode({ platform: 'darwin', arch: 'arm64', endianness: 'LE' }))).toBe(
      'darwin/arm64/v8',
    );
    expect(formatPlatform(platformOfNode({ platform: 'win32', arch: 'x64', endianness: 'LE' }))).toBe(
      'windows/amd64',
    );
  });
});

describe('hostPlatform', () => {
  it('is platformOfNode of this process; os can be replaced (images are Linux images)', () => {
    const mine = platformOfNode({
      platform: process.platform,
      arch: process.arch,
      armVersion: (process.config.variables as unknown as Record<string, unknown>).arm_version,
      endianness: endianness(),
    });
    expect(hostPlatform()).toEqual(mine);
    expect(hostPlatform({ os: 'linux' })).toEqual({ ...mine, os: 'linux' });
  });
});
