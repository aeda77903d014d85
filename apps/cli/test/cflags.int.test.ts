/**
 * `--cflag` placeholders: `{os}`, `{arch}`, `{variant}`, `{label}` and `{platform}` are expanded per platform,
 * so one command line gives each of the 15 platforms its own define; the program is compiled with the default
 * --c-source flags against musl and run under qemu-user on each platform's oldest CPU.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isImageIndex, readLayout, readTarEntries, uncompressed } from '@scratchpack/oci';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { PLATFORMS, runArgv, SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from './helpers.ts';

const ARCH_C = `#include <string.h>
#include <unistd.h>
int main(void) {
  const char *s = "arch=" ARCH " variant=" VARIANT " label=" LABEL " platform=" PLATFORM "\\n";
  return write(1, s, strlen(s)) == (long)strlen(s) ? 0 : 1;
}
`;

const qemus = [...new Set(PLATFORMS.map((p) => p.qemu))].filter((q) => q !== 'qemu-x86_64-static');

describeWithTools(qemus, '--cflag placeholders on every platform (zig + qemu-user)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    work = await tempDir('cflags-');
    await writeFile(join(work.path, 'arch.c'), ARCH_C);
  });
  afterAll(() => work?.cleanup());

  it("--cflag '-DARCH=\"{arch}\"' & co: each platform's binary carries its own values", async () => {
    const out = join(work.path, 'oci');
    // biome-ignore format: the command line as typed
    const r = await cli(['build', '--c-source', 'arch.c', '--platform', 'all', '-o', out,
      '--cflag', '-DARCH="{arch}"', '--cflag', '-DVARIANT="{variant}"', '--cflag', '-DLABEL="{label}"',
      '--cflag', '-DPLATFORM="{platform}"'], { cwd: work.path });
    // Not a terminal: one line per platform as its compile ends, nothing else.
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(
      lines.map((l) => /^compiled (\S+) in \d+\.\d s( \(zig builds musl libc .*\))?$/.exec(l)?.[1]).sort(),
    ).toEqual(SUPPORTED_PLATFORMS.map((p) => p.name).sort());
    expect(r.status).toBe(0);
    const layout = await readLayout(out);
    const index = await layout.resolve('latest');
    if (!isImageIndex(index)) throw new Error('expected an index');
    const images = await index.images();
    expect(images).toHaveLength(15);
    const bin = join(work.path, 'bin');
    await mkdir(bin, { recursive: true });
    for (const [i, p] of PLATFORMS.entries()) {
      const [layer] = await images[i]!.image.layers();
      const entry = (await readTarEntries(uncompressed(layer!))).find((e) => e.path.endsWith('arch'));
      if (!entry || !('content' in entry)) throw new Error(`${p.name}: no /arch in the layer`);
      const file = join(bin, p.label);
      await writeFile(file, entry.content, { mode: 0o755 });
      const [cmd, ...args] = runArgv(p, file, [], { pinCpu: true });
      const run = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr, p.name).toBe('');
      expect(run.stdout, p.name).toBe(
        `arch=${p.platform.architecture} variant=${p.platform.variant ?? ''} label=${p.label} platform=${p.name}\n`,
      );
      expect(run.status, p.name).toBe(0);
    }
    // With a cold zig cache this builds musl for all fifteen targets first.
  }, 1_800_000);

  it('an unknown placeholder is a usage error naming the known ones, before anything is compiled', async () => {
    const out = join(work.path, 'bad');
    const r = await cli(['build', '--c-source', 'arch.c', '--cflag', '-DCPU="{cpu}"', '-o', out], {
      cwd: work.path,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown placeholder \{cpu\} in --cflag "-DCPU="\{cpu\}""/);
    expect(r.stderr).toMatch(/known placeholders: \{os\}, \{arch\}, \{variant\}, \{label\}, \{platform\}/);
    await expect(readFile(join(out, 'index.json'))).rejects.toThrow(/ENOENT/);
  });
});
