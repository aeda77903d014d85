/**
 * Concurrent writers and interrupted runs, with the real CLI: builds into one layout (and into the local
 * store) at once never lose a tag; a build stopped by SIGINT/SIGTERM exits 130/143 and leaves no temp
 * files (spooled layers, half-written blobs or archives, locks) and a layout umoci still accepts; after a
 * kill -9 the next writer removes what the dead one left.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLayout, validateLayout } from '@scratchpack/oci';
import {
  describeWithTools,
  processesNaming,
  startFaultProxy,
  startRegistry,
  tempDir,
} from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, cliBin } from './helpers.ts';
import { tarOf } from './tar-fixtures.ts';

describeWithTools(['umoci', 'docker-registry'], 'concurrent writers and interrupted runs', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let small: string;
  let big: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = await tempDir('writers-');
    env = { SCRATCHPACK_STORE: join(work.path, 'store'), TMPDIR: join(work.path, 'tmp') };
    await mkdir(env.TMPDIR!, { recursive: true });
    small = join(work.path, 'small');
    await mkdir(small);
    await writeFile(join(small, 'f'), 'small\n');
    await writeFile(join(small, 'Dockerfile'), 'FROM scratch\nCOPY f /f\n');
    // 96 MiB of random bytes: incompressible, so packing takes seconds and spools (over 64 MiB) to a temp file.
    big = join(work.path, 'big');
    await mkdir(big);
    const fh = await open(join(big, 'blob'), 'w');
    for (let i = 0; i < 96; i++) await fh.write(randomBytes(1024 * 1024));
    await fh.close();
    await writeFile(join(big, 'Dockerfile'), 'FROM scratch\nCOPY blob /blob\n');
  });
  afterAll(() => work?.cleanup());

  let medium: string;
  beforeAll(async () => {
    // 4 MiB of random bytes: quick to build, and a blob long enough to stall half-way.
    medium = join(work.path, 'medium');
    await mkdir(medium);
    await writeFile(join(medium, 'blob'), randomBytes(4 * 1024 * 1024));
    await writeFile(join(medium, 'Dockerfile'), 'FROM scratch\nCOPY blob /blob\n');
  });

  // scratchpack-ld holds the --c-source linker script, kept on purpose (named after its contents): not a temp.
  const tmpLeftovers = async () =>
    (await readdir(env.TMPDIR!)).filter((n) => n.startsWith('scratchpack-') && n !== 'scratchpack-ld');
  const layoutLeftovers = async (dir: string) => [
    ...(await readdir(dir)).filter((n) => n !== 'blobs' && n !== 'index.json' && n !== 'oci-layout'),
    ...(await readdir(join(dir, 'blobs', 'sha256'))).filter((n) => !/^[0-9a-f]{64}$/.test(n)),
  ];

  it('two builds into one layout and two into the store at once: no tag lost (8 trials)', async () => {
    for (let trial = 0; trial < 8; trial++) {
      const layout = join(work.path, `concurrent-${trial}`);
      const runs = await Promise.all([
        cli(['build', small, '-o', layout, '-t', 'one'], { env }),
        cli(['build', small, '-o', layout, '-t', 'two'], { env }),
        cli(['build', small, '-t', `one:${trial}`], { env }),
        cli(['build', small, '-t', `two:${trial}`], { env }),
      ]);
      // Only a "waiting for another scratchpack" notice may appear (when a wait lasts over a second).
      for (const r of runs) expect(r.stderr.replace(/^waiting for another scratchpack .*\n/gm, '')).toBe('');
      expect(runs.map((r) => r.status)).toEqual([0, 0, 0, 0]);
      expect(await (await readLayout(layout)).tags(), `trial ${trial}`).toEqual(['one', 'two']);
      expect(await layoutLeftovers(layout)).toEqual([]);
    }
    const names = JSON.parse((await cli(['images', '--json'], { env })).stdout).images.map(
      (i: { name: string }) => i.name,
    );
    expect(names).toHaveLength(16);
  }, 240_000);

  /** Start `build big -o <out>`, send `signal` as soon as `ready()` holds, and return the exit status. */
  const interrupt = (out: string, signal: NodeJS.Signals, ready: () => Promise<boolean>) =>
    interruptCli(['build', big, '-o', out, '-t', 'big'], signal, ready);

  /**
   * Start the CLI with `args`, send `signal` as soon as `ready()` holds, and return the exit status. `input`, if
   * given, is written to its standard input, which is then left open (a stream that never ends).
   */
  async function interruptCli(
    args: string[],
    signal: NodeJS.Signals,
    ready: () => Promise<boolean>,
    input?: Buffer,
  ) {
    const child = spawn(process.execPath, [cliBin, ...args], {
      env: { ...process.env, ...env },
      stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    });
    if (input) {
      child.stdin!.on('error', () => {}); // EPIPE once the CLI has exited: expected
      child.stdin!.write(input);
    }
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    let exitedAt = 0;
    const exited = new Promise<number | null>((r) =>
      child.on('exit', (code) => {
        exitedAt = Date.now();
        r(code);
      }),
    );
    let seen = false;
    const deadline = Date.now() + 120_000;
    while (!seen && child.exitCode === null && Date.now() < deadline) {
      seen = await ready();
      if (!seen) await new Promise((r) => setTimeout(r, 5));
    }
    expect(seen, 'the temp file to interrupt at appeared').toBe(true);
    const killedAt = Date.now();
    child.kill(signal);
    const status = await exited;
    // Whatever was interrupted: one line at most, never a stack trace or an unhandled stream error.
    if (signal !== 'SIGKILL') expect(stderr).not.toMatch(/\n\s+at |Unhandled|'error' event/);
    return { status, stderr: () => stderr, ms: exitedAt - killedAt };
  }

  /** A layout holding the big image, built once. */
  let built: string | undefined;
  const bigLayout = async () => {
    if (!built) {
      built = join(work.path, 'big-source');
      expect((await cli(['build', big, '-o', built, '-t', 'big'], { env })).status).toBe(0);
    }
    return built;
  };
  const blobTemps = async (layout: string) =>
    (await readdir(join(layout, 'blobs', 'sha256')).catch(() => [])).some((n) => n.startsWith('.tmp-'));
  const spooling = async () => (await readdir(env.TMPDIR!)).some((n) => n.startsWith('scratchpack-layer-'));

  it.each([
    ['SIGINT', 130, 'while the layer spools to a temp file'],
    ['SIGTERM', 143, 'while a blob is written into the layout'],
  ] as const)(
    '%s → exit %i, %s: no temp files, the layout still valid',
    async (signal, status, _when) => {
      const layout = join(work.path, `int-${signal}`);
      expect((await cli(['build', small, '-o', layout, '-t', 'old'], { env })).status).toBe(0);
      // A build puts the layer it spooled into the layout as a hard link, at once: a copy from another layout
      // writes the blob through a temp file, hashed as it goes, long enough to be interrupted half-way.
      const r =
        signal === 'SIGINT'
          ? await interrupt(layout, signal, spooling)
          : await interruptCli(['copy', `oci:${await bigLayout()}:big`, `oci:${layout}:big`], signal, () =>
              blobTemps(layout),
            );
      expect(r.status).toBe(status);
      expect(await tmpLeftovers()).toEqual([]);
      expect(await layoutLeftovers(layout)).toEqual([]);
      expect(await (await readLayout(layout)).tags()).toEqual(['old']);
      expect((await validateLayout(layout, { tag: 'old' })).problems).toEqual([]);
      execFileSync('umoci', ['gc', '--layout', layout]);
      expect(execFileSync('umoci', ['ls', '--layout', layout]).toString().trim()).toBe('old');
    },
    180_000,
  );

  it('SIGINT while an archive is written: no .tmp-…tar beside it, no archive either', async () => {
    const dir = join(work.path, 'archives');
    await mkdir(dir);
    const archive = join(dir, 'big.oci.tar');
    const writing = async () => (await readdir(dir)).some((n) => n.startsWith('.tmp-'));
    const r = await interrupt(archive, 'SIGINT', writing);
    expect(r.status).toBe(130);
    expect(await readdir(dir)).toEqual([]);
    expect(await tmpLeftovers()).toEqual([]);
  }, 180_000);

  it('after kill -9, the next writer of the layout removes the dead one’s temp files', async () => {
    const layout = join(work.path, 'killed');
    expect((await cli(['build', small, '-o', layout, '-t', 'old'], { env })).status).toBe(0);
    const r = await interruptCli(
      ['copy', `oci:${await bigLayout()}:big`, `oci:${layout}:big`],
      'SIGKILL',
      () => blobTemps(layout),
    );
    expect(r.status).toBe(null);
    expect((await layoutLeftovers(layout)).length).toBeGreaterThan(0);
    const next = await cli(['build', small, '-o', layout, '-t', 'next'], { env });
    expect(next.status).toBe(0);
    expect(await layoutLeftovers(layout)).toEqual([]);
    expect(existsSync(join(layout, 'index.json.lock'))).toBe(false);
    execFileSync('umoci', ['gc', '--layout', layout]);
    expect(await (await readLayout(layout)).tags()).toEqual(['next', 'old']);
  }, 180_000);

  it('push stopped by SIGTERM mid-upload, pull stopped by SIGINT mid-download: clean, layouts intact', async () => {
    const registry = await startRegistry();
    try {
      const layout = join(work.path, 'to-push');
      expect((await cli(['build', big, '-o', layout, '-t', 'big'], { env })).status).toBe(0);
      const before = await layoutFingerprint(layout);
      const uploads = join(registry.dir, 'data');
      const uploading = async () =>
        (await readdir(uploads, { recursive: true }).catch(() => [] as string[])).some((p) =>
          p.endsWith('/data'),
        );
      const push = await interruptCli(
        ['push', `${layout}:big`, `${registry.host}/big:1`],
        'SIGTERM',
        uploading,
      );
      expect(push.status).toBe(143);
      expect(await layoutFingerprint(layout)).toEqual(before);
      expect(await tmpLeftovers()).toEqual([]);

      expect((await cli(['push', `${layout}:big`, `${registry.host}/big:1`], { env })).status).toBe(0);
      const dest = join(work.path, 'pulled');
      expect((await cli(['build', small, '-o', dest, '-t', 'old'], { env })).status).toBe(0);
      const pull = await interruptCli(['pull', `${registry.host}/big:1`, `${dest}:big`], 'SIGINT', () =>
        blobTemps(dest),
      );
      expect(pull.status).toBe(130);
      expect(await layoutLeftovers(dest)).toEqual([]);
      expect(await (await readLayout(dest)).tags()).toEqual(['old']);
      execFileSync('umoci', ['gc', '--layout', dest]);
      expect((await validateLayout(dest, { tag: 'old' })).problems).toEqual([]);
    } finally {
      await registry.stop();
    }
  }, 240_000);

  /**
   * The command unwinds through its AbortSignal (not the 2 s safety net, which would exit after 2.2 s): the
   * stalled request is cancelled, the command's own clean-up runs, and the process exits well within that.
   */
  const UNWOUND_MS = 2000;

  it('push stalled mid-upload, SIGINT: exit 130 at once, no tag in the registry, layout untouched', async () => {
    const registry = await startRegistry();
    const proxy = await startFaultProxy(registry.url, [
      { method: 'PUT', path: '/blobs/uploads/', times: Infinity, action: { stallAfterBytes: 256 * 1024 } },
    ]);
    try {
      const layout = join(work.path, 'stalled-push');
      expect((await cli(['build', medium, '-o', layout, '-t', 'm'], { env })).status).toBe(0);
      const before = await layoutFingerprint(layout);
      let stalled = false;
      void proxy.stalled().then(() => {
        stalled = true;
      });
      const r = await interruptCli(
        ['push', `${layout}:m`, `${proxy.host}/stalled/push:1`],
        'SIGINT',
        async () => stalled,
      );
      expect(r.status).toBe(130);
      expect(r.ms).toBeLessThan(UNWOUND_MS);
      expect(r.stderr()).not.toMatch(/error/i);
      const tag = await fetch(`${registry.url}/v2/stalled/push/manifests/1`, {
        headers: { accept: 'application/vnd.oci.image.index.v1+json' },
      });
      expect(tag.status).toBe(404);
      expect(await layoutFingerprint(layout)).toEqual(before);
      expect(await tmpLeftovers()).toEqual([]);
    } finally {
      await proxy.stop();
      await registry.stop();
    }
  }, 240_000);

  it('pull stalled mid-blob, SIGTERM: exit 143 at once, the layout keeps its old tag, valid, no temps', async () => {
    const registry = await startRegistry();
    const proxy = await startFaultProxy(registry.url);
    try {
      const layout = join(work.path, 'to-pull');
      expect((await cli(['build', medium, '-o', layout, '-t', 'm'], { env })).status).toBe(0);
      expect((await cli(['push', `${layout}:m`, `${registry.host}/stalled/pull:1`], { env })).status).toBe(0);
      const dest = join(work.path, 'stalled-pull');
      expect((await cli(['build', small, '-o', dest, '-t', 'old'], { env })).status).toBe(0);
      const indexBefore = await readFile(join(dest, 'index.json'));
      // Every blob GET passes 64 KiB, then stops: only the 4 MiB layer is long enough to stall.
      proxy.setRules([
        {
          method: 'GET',
          path: '/blobs/sha256:',
          times: Infinity,
          action: { stallResponseAfterBytes: 64 * 1024 },
        },
      ]);
      let stalled = false;
      void proxy.stalled().then(() => {
        stalled = true;
      });
      const r = await interruptCli(
        ['pull', `${proxy.host}/stalled/pull:1`, `${dest}:new`],
        'SIGTERM',
        async () => stalled,
      );
      expect(r.status).toBe(143);
      expect(r.ms).toBeLessThan(UNWOUND_MS);
      expect(await layoutLeftovers(dest)).toEqual([]);
      expect(await readFile(join(dest, 'index.json'))).toEqual(indexBefore);
      expect(await (await readLayout(dest)).tags()).toEqual(['old']);
      expect((await validateLayout(dest, { tag: 'old' })).problems).toEqual([]);
      execFileSync('umoci', ['gc', '--layout', dest]);
      expect(await tmpLeftovers()).toEqual([]);
    } finally {
      await proxy.stop();
      await registry.stop();
    }
  }, 240_000);

  it('build stalled in zig (--c-source), SIGINT: exit 130 at once, zig killed, no temps, layout untouched', async () => {
    const layout = join(work.path, 'stalled-build');
    expect((await cli(['build', small, '-o', layout, '-t', 'old'], { env })).status).toBe(0);
    const before = await layoutFingerprint(layout);
    const src = join(work.path, 'stalled-src');
    await mkdir(src);
    // The compiler blocks reading a FIFO nobody writes: once it has opened it, the build is stalled in zig.
    const fifo = join(src, 'stall.h');
    execFileSync('mkfifo', [fifo]);
    const source = join(src, 'prog.c');
    await writeFile(source, `#include "${fifo}"\nint main(void) { return 0; }\n`);
    let writer: number | undefined;
    const compilerWaits = async () => {
      try {
        writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        return true;
      } catch {
        return false;
      }
    };
    let compilers: number[] = [];
    const r = await interruptCli(
      ['build', '--c-source', source, '--platform', 'linux/amd64', '-o', layout, '-t', 'new'],
      'SIGINT',
      async () => {
        if (!(await compilerWaits())) return false;
        compilers = processesNaming(source);
        return true;
      },
    );
    if (writer !== undefined) closeSync(writer);
    expect(r.status).toBe(130);
    expect(r.ms).toBeLessThan(UNWOUND_MS);
    expect(compilers.length).toBeGreaterThanOrEqual(2); // zig cc and its clang
    expect(compilers.filter(isAlive)).toEqual([]);
    expect(await layoutFingerprint(layout)).toEqual(before);
    expect(await tmpLeftovers()).toEqual([]);
  }, 240_000);

  it.each([
    // --normalize reads the whole tar first (its entries are sorted), spooling what it must keep.
    ['while the tar is read and spooled (--normalize)', 'scratchpack-import-', ['--normalize']],
    ['while the layer is packed', 'scratchpack-layer-', []],
    // (Its layer then goes into the layout as a hard link to the spool, at once: a blob written half-way is the
    // copy test's above.)
  ] as const)(
    'import of a rootfs tar, SIGINT %s: exit 130, no stack trace, no temps',
    async (_when, temp, extra) => {
      const rootfs = join(work.path, 'rootfs.tar');
      if (!existsSync(rootfs)) {
        // Many small files (in-memory tar entries) and one 96 MiB incompressible file (seconds of packing).
        const tree = join(work.path, 'rootfs');
        await mkdir(join(tree, 'etc'), { recursive: true });
        for (let i = 0; i < 2000; i++) await writeFile(join(tree, 'etc', `f${i}`), `file ${i}\n`);
        execFileSync('cp', [join(big, 'blob'), join(tree, 'blob')]);
        execFileSync('tar', ['-cf', rootfs, '-C', tree, '.']);
      }
      const dest = join(work.path, `import-${temp}`);
      const there = async () => (await readdir(env.TMPDIR!)).some((n) => n.startsWith(temp));
      const r = await interruptCli(['import', ...extra, rootfs, `${dest}:x`], 'SIGINT', there);
      expect(r.status).toBe(130);
      expect(await tmpLeftovers()).toEqual([]);
      expect(existsSync(join(dest, 'index.json'))).toBe(false);
    },
    240_000,
  );

  it('import reading a standard input that never ends, SIGINT: exit 130 at once, spool removed, no layout', async () => {
    const dest = join(work.path, 'stalled-import');
    // The first 6 MiB of a tar holding one 8 MiB random file: the import spools its layer (past 4 MiB of gzip,
    // the spool goes to a file), then waits for the rest.
    const part = tarOf([{ name: 'big', content: randomBytes(8 * 1024 * 1024) }]).subarray(0, 6 * 1024 * 1024);
    // The import has started spooling (it can never finish: its input does not end).
    const spooled = async () => (await readdir(env.TMPDIR!)).some((n) => n.startsWith('scratchpack-layer-'));
    const r = await interruptCli(['import', '-', `${dest}:x`], 'SIGINT', spooled, part);
    expect(r.status).toBe(130);
    expect(r.ms).toBeLessThan(UNWOUND_MS);
    expect(existsSync(join(dest, 'index.json'))).toBe(false);
    expect(await tmpLeftovers()).toEqual([]);
  }, 240_000);
});

/** Every file of a layout with its size and mtime: equal before and after means nothing was touched. */
async function layoutFingerprint(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of (await readdir(dir, { recursive: true })).sort()) {
    const s = await stat(join(dir, p));
    out.push(`${p} ${s.size} ${s.mtimeMs}`);
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}
