/**
 * A cold `--c-source` build in a real terminal (tmux): zig builds musl libc for each target first (minutes),
 * and the terminal shows a live line per platform from the start, with the elapsed time and, once it runs
 * long, why. Ctrl-C then stops it: exit 130, no stack trace, no temp files.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, processesNaming, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliBin } from './helpers.ts';
import { Tmux } from './tmux.ts';

describeWithTools(['tmux'], 'compile progress in a terminal', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    work = await tempDir('compile-progress-');
    await mkdir(join(work.path, 'tmp'));
    await writeFile(
      join(work.path, 'hi.c'),
      '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n',
    );
  });
  afterAll(() => work?.cleanup());

  it('a cold compile shows a line per platform at once, then why it is slow; Ctrl-C exits 130 cleanly', async () => {
    const term = new Tmux(['sh'], {
      ...process.env,
      // An empty zig cache: musl is built for each target, as on a fresh machine.
      ZIG_GLOBAL_CACHE_DIR: join(work.path, 'zig-cache'),
      SCRATCHPACK_STORE: join(work.path, 'store'),
      TMPDIR: join(work.path, 'tmp'),
      PS1: '$ ',
    });
    try {
      term.type(`cd ${work.path}`);
      term.type(
        `${process.execPath} ${cliBin} build --c-source hi.c --platform amd64,riscv64 -o out; echo "exit=$?"`,
      );
      // A line per platform from the start (musl alone takes minutes cold, so this is long before the end) …
      await term.waitFor(
        /compiling linux\/amd64 +\d+ s running[\s\S]*compiling linux\/riscv64 +\d+ s running/,
      );
      // … and, while it runs long, why.
      const slow = await term.waitFor(/compiling linux\/amd64 +\d+ s zig builds musl libc the first time/);
      expect(slow).not.toMatch(/compiling linux\/amd64 +\d+ s done/);
      term.key('C-c');
      const screen = await term.waitFor(/exit=\d+/);
      expect(screen).toContain('exit=130');
      expect(screen).not.toMatch(/\n\s+at /);
      expect(screen).not.toMatch(/Unhandled|TypeError|ERR_/);
      // Our temps only (tsx keeps its own cache there); scratchpack-ld is the linker script, kept on purpose.
      const temps = (await readdir(join(work.path, 'tmp'))).filter((n) => n.startsWith('scratchpack-'));
      expect(temps.filter((n) => n !== 'scratchpack-ld')).toEqual([]);
      expect(processesNaming(join(work.path, 'hi.c'))).toEqual([]);
      expect((await readdir(work.path)).includes('out')).toBe(false);
    } finally {
      term.kill();
    }
  }, 240_000);
});
