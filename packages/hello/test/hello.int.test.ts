import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import {
  type CompileResult,
  compileAll,
  resolveZig,
  runArgv,
  SUPPORTED_PLATFORMS,
} from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { helloCompileOptions } from '../src/build.ts';

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const qemus = [...new Set(SUPPORTED_PLATFORMS.map((p) => p.qemu))].filter((q) => q !== 'qemu-x86_64-static');

/** The whole message, as hello prints it for platform `name`. */
const expectedMessage = (name: string): string =>
  '\nHello from scratchpack!\n' +
  `This message comes from a FROM-scratch image built for ${name}:\n` +
  'one static binary and nothing else, packed without a Docker daemon.\n\n';

/** Compile hello for every platform from a copy of the package placed at `folder`. */
async function buildIn(folder: string): Promise<CompileResult[]> {
  await mkdir(join(folder, 'src'), { recursive: true });
  await cp(join(pkgRoot, 'src', 'hello.c'), join(folder, 'src', 'hello.c'));
  return compileAll({
    ...helloCompileOptions(folder),
    platforms: SUPPORTED_PLATFORMS,
    out: (p) => join(folder, 'dist', p.label, 'hello'),
  });
}

describeWithTools(['readelf', 'file', ...qemus], 'hello on every platform (zig + qemu-user)', () => {
  let a: Awaited<ReturnType<typeof tempDir>>;
  let b: Awaited<ReturnType<typeof tempDir>>;
  let first: CompileResult[];
  let second: CompileResult[];

  beforeAll(async () => {
    resolveZig(); // fails loudly (under CI too) when no real zig is installed
    a = await tempDir('hello-a-');
    b = await tempDir('hello-b-nested-');
    first = await buildIn(a.path);
    second = await buildIn(join(b.path, 'some', 'other', 'folder'));
  });
  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  it('builds all fifteen platforms', () => {
    expect(first).toHaveLength(15);
    expect(first.map((r) => r.platform.name)).toEqual(SUPPORTED_PLATFORMS.map((p) => p.name));
  });

  it.each(SUPPORTED_PLATFORMS.map((p) => [p.name, p] as const))(
    '%s: a static ELF of the right machine',
    (_, p) => {
      const bin = first.find((r) => r.platform === p)!.out;
      const file = execFileSync('file', ['-b', bin], { encoding: 'utf8' });
      expect(file).toMatch(/statically linked/);
      expect(file).toMatch(/stripped/);
      expect(file).not.toMatch(/not stripped|dynamically|interpreter/);
      const header = execFileSync('readelf', ['-h', bin], { encoding: 'utf8' });
      expect(header).toMatch(new RegExp(`Class:\\s+ELF${p.elfClass}`));
      expect(header).toMatch(new RegExp(`Data:\\s+2's complement, ${p.endian} endian`));
      const flags = /Flags:\s+(.*)/.exec(header)?.[1] ?? '';
      for (const word of p.elfFlags ?? []) expect(flags.split(', '), `${p.name} ${flags}`).toContain(word);
      expect(header).toMatch(new RegExp(`Machine:\\s+${p.elfMachine.replace(/[/()]/g, '\\$&')}`));
      const notes = execFileSync('readelf', ['-n', bin], { encoding: 'utf8' });
      expect(notes).not.toMatch(/GNU_BUILD_ID|Build ID/);
      if (p.armArch) {
        const attrs = execFileSync('readelf', ['-A', bin], { encoding: 'utf8' });
        expect(attrs).toMatch(new RegExp(`Tag_CPU_arch: ${p.armArch}\\n`));
      }
    },
  );

  it.each(SUPPORTED_PLATFORMS.map((p) => [p.name, p] as const))(
    '%s: runs (qemu-user pinned to the oldest CPU of the variant) and names its platform',
    (_, p) => {
      const bin = first.find((r) => r.platform === p)!.out;
      const [cmd, ...args] = runArgv(p, bin, [], { pinCpu: true });
      const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 30_000 });
      expect(r.error).toBeUndefined();
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`built for ${p.name}:`);
      expect(r.stdout).toMatch(/^\nHello from scratchpack!\n/);
      // All of it, once: hello makes its own system calls, so check nothing is cut or repeated.
      expect(r.stdout).toBe(expectedMessage(p.name));
    },
  );

  it.runIf(existsSync('/dev/full')).each(SUPPORTED_PLATFORMS.map((p) => [p.name, p] as const))(
    '%s: exits 1 when the message cannot be written (stdout is /dev/full)',
    (_, p) => {
      const bin = first.find((r) => r.platform === p)!.out;
      const [cmd, ...args] = runArgv(p, bin, [], { pinCpu: true });
      const full = openSync('/dev/full', 'w');
      try {
        const r = spawnSync(cmd!, args, {
          encoding: 'utf8',
          timeout: 30_000,
          stdio: ['ignore', full, 'pipe'],
        });
        expect(r.error).toBeUndefined();
        expect(r.stderr).toBe('');
        expect(r.status).toBe(1);
      } finally {
        closeSync(full);
      }
    },
  );

  it('gives byte-identical binaries when built in two different folders', async () => {
    for (let i = 0; i < first.length; i++) {
      const [x, y] = [first[i]!, second[i]!];
      expect(y.platform).toBe(x.platform);
      expect((await readFile(y.out)).equals(await readFile(x.out)), x.platform.name).toBe(true);
    }
  });

  it('keeps the build folder out of the binaries', async () => {
    for (const r of first) {
      const bytes = await readFile(r.out);
      expect(bytes.includes(a.path), r.platform.name).toBe(false);
      expect(bytes.includes('/work/'), r.platform.name).toBe(false);
    }
  });
});
