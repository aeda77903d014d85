/** `scratchpack run`'s option parsing (the runtime's own pieces are tested in packages/runtime). */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../src/commands/run.ts';
import { cli } from './helpers.ts';

describe('run: Docker-style argument parsing', () => {
  async function parse(argv: string[]) {
    // As main.ts sets it up: options after a subcommand are that subcommand's.
    const program = new Command('scratchpack').enablePositionalOptions().exitOverride();
    runCommand(program);
    const run = program.commands.find((c) => c.name() === 'run')!;
    let got: { ref: string; args: string[]; opts: Record<string, unknown> } | undefined;
    run.action((ref: string, args: string[], opts: Record<string, unknown>) => {
      got = { ref, args, opts };
    });
    await program.parseAsync(['node', 'scratchpack', 'run', ...argv]);
    return got!;
  }

  it('options before the image are run’s, everything after it is the program’s', async () => {
    const r = await parse([
      '-it',
      '--rm',
      '-e',
      'A=1',
      '-v',
      '/a:/b:ro',
      'img:tag',
      'cat',
      '-n',
      '-e',
      '--help',
    ]);
    expect(r.ref).toBe('img:tag');
    expect(r.args).toEqual(['cat', '-n', '-e', '--help']);
    expect(r.opts).toMatchObject({
      tty: true,
      interactive: true,
      rm: true,
      env: ['A=1'],
      volume: ['/a:/b:ro'],
    });
    expect(r.opts.sandbox).toBe(true);
    expect(r.opts.network).toBe('none');
  });

  it('keeps `--` working in both places', async () => {
    expect((await parse(['--', 'img', 'ls', '-l'])).args).toEqual(['ls', '-l']);
    expect((await parse(['img', '--', 'ls', '-l'])).args).toEqual(['--', 'ls', '-l']);
    expect((await parse(['--no-sandbox', '--platform', 'linux/arm64', 'img'])).opts).toMatchObject({
      sandbox: false,
      platform: 'linux/arm64',
    });
  });
});

describe('run: bad flags are refused before anything is pulled or unpacked (as docker)', () => {
  const cases: [string, string[], RegExp][] = [
    ['-e =x', ['-e', '=x'], /invalid environment variable "=x": the name before = is empty/],
    ['-u 0:0:0', ['-u', '0:0:0'], /invalid user "0:0:0": expected user\[:group\]/],
    ['--hostname of 100 characters', ['--hostname', 'h'.repeat(100)], /100 characters, the limit is 64/],
    ['-v X:/proc/x', ['-v', '/tmp:/proc/x'], /\/proc\/x is under \/proc, which the runtime mounts itself/],
  ];
  for (const [what, flags, message] of cases)
    it(what, async () => {
      // A name nothing has: the refusal comes first (no "not found", no pull, no bwrap).
      const r = await cli(['run', ...flags, 'no-such-image-here:1', 'true'], {
        env: { SCRATCHPACK_STORE: '/nonexistent/store' },
        timeout: 60_000,
      });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^error: /); // USAGE: printed without a code, exit 2
      expect(r.stderr).toMatch(/\nhint: /);
      expect(r.status).toBe(2);
    }, 60_000);
});
