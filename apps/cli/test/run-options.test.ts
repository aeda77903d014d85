/** `scratchpack run`'s option parsing (the runtime's own pieces are tested in packages/runtime). */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../src/commands/run.ts';

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
