/**
 * Programs for another platform: every ELF file a build puts into an image is checked against the image's
 * platform (COPY, ADD of a tar, --context next to --c-source/--binary); `--allow-foreign-binaries` accepts them.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';

/** A 64-byte ELF header: a static executable for `machine` (62 x86-64, 183 AArch64), 64-bit little-endian. */
function elfHeader(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // 64-bit
  b[5] = 1; // little-endian
  b[6] = 1;
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  b.writeUInt32LE(1, 20);
  b.writeUInt16LE(64, 52);
  return b;
}

describe('build: programs for another platform', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let ctx: string;
  beforeAll(async () => {
    work = await tempDir('cli-foreign-');
    ctx = join(work.path, 'ctx');
    await mkdir(join(ctx, 'tree', 'bin'), { recursive: true });
    await writeFile(join(ctx, 'prog'), elfHeader(62));
    await writeFile(join(ctx, 'notes.txt'), 'not a program\n');
    await writeFile(join(ctx, 'tree', 'bin', 'tool'), elfHeader(183));
    execFileSync('tar', ['-cf', join(ctx, 'tools.tar'), '-C', join(ctx, 'tree'), 'bin']);
  });
  afterAll(() => work?.cleanup());

  it('refuses an x86-64 program packed for --platform all, naming the platforms that cannot run it', async () => {
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY prog notes.txt /\n');
    const out = join(work.path, 'all');
    const r = await cli(['build', ctx, '--platform', 'all', '-o', out]);
    expect(r.status).toBe(1);
    const others = SUPPORTED_PLATFORMS.map((p) => p.name).filter((n) => n !== 'linux/amd64');
    expect(r.stderr).toContain(
      `error [BUILD_FOREIGN_BINARY]: programs for another platform would go into the images: /prog is built for Advanced Micro Devices X86-64, 64-bit, little-endian, not for ${others.join(', ')} (${others.length} of ${SUPPORTED_PLATFORMS.length} platforms)`,
    );
    expect(r.stderr).toContain('--allow-foreign-binaries');
    expect(r.stderr).not.toContain('notes.txt');
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const ok = await cli([
      'build',
      ctx,
      '--platform',
      'all',
      '--allow-foreign-binaries',
      '-o',
      out,
      '--json',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).images).toHaveLength(SUPPORTED_PLATFORMS.length);
  }, 120_000);

  it('checks the files ADD extracts from a tar, and accepts a program on its own platform', async () => {
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nADD tools.tar /opt/\n');
    const out = join(work.path, 'add');
    const r = await cli(['build', ctx, '--platform', 'linux/arm64,linux/amd64', '-o', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'error [BUILD_FOREIGN_BINARY]: programs for another platform would go into the images: /opt/bin/tool is built for AArch64, 64-bit, little-endian, not for linux/amd64 (Advanced Micro Devices X86-64, 64-bit, little-endian)',
    );
    const ok = await cli(['build', ctx, '--platform', 'linux/arm64', '-o', out]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
  }, 60_000);
});
