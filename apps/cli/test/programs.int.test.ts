/**
 * Any static program: prebuilt per-platform binaries (`--binary`) and C sources compiled by the CLI
 * (`--c-source`), run under qemu-user; dynamic and wrong-architecture binaries are refused before anything
 * is written.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { helloCompileOptions } from '@scratchpack/hello';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { compileAll, resolveZig } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, repoRoot } from './helpers.ts';
import { layoutFingerprint } from './tar-fixtures.ts';

/** In matrix order, as the index lists them. */
const PLATFORMS = ['linux/amd64', 'linux/arm/v7', 'linux/arm64/v8'];

const GREET_C = `#include <stdio.h>
#include <stdlib.h>
#ifndef GREETING
#define GREETING "hello"
#endif
int main(int argc, char **argv) {
  const char *who = argc > 1 ? argv[1] : getenv("WHO");
  printf("%s %s from " SCRATCHPACK_PLATFORM "\\n", GREETING, who ? who : "nobody");
  return 0;
}
`;

describeWithTools(
  ['qemu-aarch64-static', 'qemu-arm-static'],
  'static programs: --binary and --c-source (zig + qemu-user)',
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let hello: Record<string, string>;
    let layout: string;

    beforeAll(async () => {
      work = await tempDir('programs-');
      const src = join(work.path, 'hello-src');
      await mkdir(join(src, 'src'), { recursive: true });
      execFileSync('cp', [join(repoRoot, 'packages', 'hello', 'src', 'hello.c'), join(src, 'src')]);
      const built = await compileAll({
        ...helloCompileOptions(src),
        platforms: PLATFORMS,
        out: (p) => join(src, 'dist', p.label, 'hello'),
      });
      hello = Object.fromEntries(built.map((r) => [r.platform.name, r.out]));
      layout = join(work.path, 'oci');
    });
    afterAll(() => work?.cleanup());

    it('--binary packs prebuilt per-platform binaries; each runs under qemu-user', async () => {
      // Given out of matrix order: the index still follows the matrix.
      const flags = [...PLATFORMS].reverse().flatMap((p) => ['--binary', `${p}=${hello[p]}`]);
      const r = await cli(['build', ...flags, '-o', layout, '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).images.map((i: { platform: string }) => i.platform)).toEqual(PLATFORMS);
      for (const p of PLATFORMS) {
        const run = await cli(['run', '--platform', p, '--pin-cpu', `${layout}:latest`]);
        expect(run.status).toBe(0);
        expect(run.stdout).toContain(`built for ${p}:`);
      }
      const info = JSON.parse((await cli(['inspect', `${layout}:latest`, '--json'])).stdout);
      expect(info.images[0].config.Entrypoint).toEqual(['/hello']);
      expect(info.annotations['dev.scratchpack.toolchain']).toBeUndefined();
    });

    it('refuses a binary of the wrong architecture, writing nothing', async () => {
      const before = await layoutFingerprint(layout);
      const r = await cli([
        'build',
        '--binary',
        `linux/amd64=${hello['linux/amd64']}`,
        '--binary',
        `linux/arm64=${hello['linux/amd64']}`,
        '-o',
        layout,
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `error [BINARY_WRONG_ARCH]: ${hello['linux/amd64']} is built for Advanced Micro Devices X86-64, 64-bit, little-endian, not for linux/arm64/v8 (AArch64, 64-bit, little-endian)`,
      );
      expect(r.stderr).toMatch(/hint: build it for linux\/arm64\/v8 .*--binary linux\/arm64\/v8=PATH/);
      expect(await layoutFingerprint(layout)).toBe(before);
    });

    it('refuses dynamic binaries (zig glibc build, and the host /bin/ls), saying how to link statically', async () => {
      const before = await layoutFingerprint(layout);
      const c = join(work.path, 'dyn.c');
      await writeFile(c, '#include <stdio.h>\nint main(void) { puts("dynamic"); return 0; }\n');
      const dyn = join(work.path, 'dyn-arm64');
      execFileSync(resolveZig().path, ['cc', '-target', 'aarch64-linux-gnu', '-o', dyn, c]);
      const r = await cli(['build', '--binary', `linux/arm64=${dyn}`, '-o', layout]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `error [BINARY_DYNAMIC]: ${dyn} is dynamically linked (interpreter /lib/ld-linux-aarch64.so.1; needs libc.so.6)`,
      );
      expect(r.stderr).toMatch(/hint: link it statically for linux\/arm64\/v8: Go `CGO_ENABLED=0 go build`/);
      if (process.arch === 'x64') {
        const ls = await cli(['build', '--binary', 'linux/amd64=/bin/ls', '-o', layout]);
        expect(ls.status).toBe(1);
        expect(ls.stderr).toMatch(
          /\/bin\/ls is dynamically linked \(interpreter \/lib64\/ld-linux-x86-64\.so\.2/,
        );
      }
      expect(await layoutFingerprint(layout)).toBe(before);
    });

    it('--c-source compiles with --cflag, generates the Dockerfile, and runs on every platform', async () => {
      const dir = join(work.path, 'greet');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'greet.c'), GREET_C);
      const out = join(work.path, 'greet-oci');
      const r = await cli(
        // biome-ignore format: the command line as typed
        ['build', '--c-source', 'greet.c', '--cflag', '-DGREETING="hi"', '--platform', PLATFORMS.join(','),
          '-o', out, '--json'],
        { cwd: dir, timeout: 600_000 }, // cold musl compiles for every platform on a busy machine
      );
      expect(
        r.stderr
          .split('\n')
          .filter(Boolean)
          .map((l) => /^compiled (\S+) in /.exec(l)?.[1])
          .sort(),
      ).toEqual([...PLATFORMS].sort());
      expect(r.status).toBe(0);
      for (const p of PLATFORMS) {
        const run = await cli(['run', '--platform', p, '-e', 'WHO=qemu', `${out}:latest`]);
        expect(run.stdout).toBe(`hi qemu from ${p}\n`);
      }
      const info = JSON.parse((await cli(['inspect', `${out}:latest`, '--json'])).stdout);
      expect(info.annotations['dev.scratchpack.toolchain']).toBe(`zig ${resolveZig().version}`);
      expect(info.images[0].config).toMatchObject({ Entrypoint: ['/greet'] });
    });

    it('--c-source links byte-loop memcpy/memset only into a program that needs them just to start', async () => {
      const dir = join(work.path, 'startup-mem');
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, 'writes.c'),
        '#include <unistd.h>\nint main(void) { write(1, "hi\\n", 3); return 0; }\n',
      );
      await writeFile(join(dir, 'greet.c'), GREET_C);
      /** The compile flags the provenance of the image built from `src` records. */
      const flagsOf = async (src: string) => {
        const out = join(work.path, `startup-mem-${src}`);
        const r = await cli(['build', '--c-source', src, '--platform', 'linux/arm64', '-o', out, '--json'], {
          cwd: dir,
          timeout: 600_000,
        });
        expect(r.status, r.stderr).toBe(0);
        const referrer = JSON.parse(r.stdout).referrers.find(
          (x: { artifactType: string }) => x.artifactType === 'application/vnd.in-toto+json',
        );
        const blob = (d: string) => readFile(join(out, 'blobs', 'sha256', d.slice('sha256:'.length)), 'utf8');
        const manifest = JSON.parse(await blob(referrer.digest));
        const statement = JSON.parse(await blob(manifest.layers[0].digest));
        return {
          out,
          flags: statement.predicate.buildDefinition.externalParameters.programs[0].flags as string[],
        };
      };
      const writes = await flagsOf('writes.c');
      expect(writes.flags.some((f) => /startup-mem-[0-9a-f]{16}\.c$/.test(f))).toBe(true);
      const run = await cli(['run', '--platform', 'linux/arm64', `${writes.out}:latest`]);
      expect(run.stdout).toBe('hi\n');
      // printf copies with memcpy at run time: musl's stays.
      expect((await flagsOf('greet.c')).flags.some((f) => f.includes('startup-mem-'))).toBe(false);
    });

    it('--c-source with a context and a Dockerfile: the context files sit next to the program', async () => {
      const dir = join(work.path, 'greet-ctx');
      await mkdir(join(dir, 'ctx', 'etc'), { recursive: true });
      await writeFile(join(dir, 'greet.c'), GREET_C);
      await writeFile(join(dir, 'ctx', 'etc', 'motd'), 'motd\n');
      await writeFile(
        join(dir, 'ctx', 'Dockerfile'),
        'FROM scratch\nCOPY greet /usr/bin/hey\nCOPY etc /etc\nENTRYPOINT ["/usr/bin/hey"]\nCMD ["world"]\n',
      );
      const out = join(work.path, 'greet-ctx-oci');
      const r = await cli(['build', 'ctx', '--c-source', 'greet.c', '--platform', 'linux/arm64', '-o', out], {
        cwd: dir,
        timeout: 600_000,
      });
      expect(r.status).toBe(0);
      const rootfs = join(work.path, 'unpacked');
      if (process.getuid?.() === 0) {
        // As root the container runs as nobody: a --rootfs it cannot reach is refused, clearly.
        const refused = await cli(['run', '--platform', 'linux/arm64', '--rootfs', rootfs, `${out}:latest`]);
        expect(refused.status).toBe(2);
        expect(refused.stderr).toContain(`${work.path} is not searchable by others`);
        await chmod(work.path, 0o755);
      }
      const run = await cli(['run', '--platform', 'linux/arm64', '--rootfs', rootfs, `${out}:latest`]);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('hello world from linux/arm64/v8\n');
      expect(await readFile(join(rootfs, 'etc', 'motd'), 'utf8')).toBe('motd\n');
    });

    it('says what is wrong with the flags', async () => {
      const both = await cli([
        'build',
        '--binary',
        `linux/amd64=${hello['linux/amd64']}`,
        '--platform',
        'all',
        '-o',
        layout,
      ]);
      expect([both.status, both.stderr]).toEqual([2, expect.stringMatching(/--binary gives the platforms/)]);
      const bad = await cli(['build', '--binary', 'linux/amd64', '-o', layout]);
      expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(/expected PLATFORM=PATH/)]);
      const unknown = await cli(['build', '--binary', `linux/m68k=${hello['linux/amd64']}`, '-o', layout]);
      expect([unknown.status, unknown.stderr]).toEqual([
        2,
        expect.stringMatching(/unknown platform "linux\/m68k"/),
      ]);
      const missing = await cli(['build', '--c-source', 'nope.c', '-o', layout]);
      expect([missing.status, missing.stderr]).toEqual([
        2,
        expect.stringMatching(/--c-source nope\.c: no such file/),
      ]);
    });
  },
);
