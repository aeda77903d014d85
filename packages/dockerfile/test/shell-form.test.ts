/** A shell-form command needs /bin/sh: FROM scratch without one is an error at the instruction, not a dead image. */
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evaluateDockerfile, parseDockerfile } from '../src/index.ts';
import { makeTree } from './helpers.ts';

let ctx: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: ctx, cleanup } = await tempDir('dockerfile-shell-'));
  await makeTree(ctx, {
    hello: { content: '#!hello\n', mode: 0o755 },
    busybox: { content: 'busybox\n', mode: 0o755 },
    'merged/usr/bin/sh': { symlink: 'busybox' },
    'merged/usr/bin/busybox': { content: 'busybox\n', mode: 0o755 },
    'merged/bin': { symlink: 'usr/bin' },
  });
});
afterEach(() => cleanup());

const evaluate = (text: string) => evaluateDockerfile(text, { context: ctx, platform: 'linux/amd64' });

describe('shell form on FROM scratch', () => {
  it('CMD ["/hello", (broken JSON) warns while parsing, naming the JSON problem', () => {
    const df = parseDockerfile('FROM scratch\nCOPY hello /\nCMD ["/hello",\n');
    expect(df.instructions[2]!.json).toBeUndefined();
    expect(df.warnings).toEqual([
      expect.objectContaining({
        code: 'JSON_ARGS_INVALID',
        line: 3,
        column: 1,
        message: expect.stringMatching(
          /CMD \["\/hello", looks like JSON but is not a JSON array of strings \(.+\)/,
        ),
      }),
    ]);
  });

  it('CMD ["/hello", fails the build with position and hint when the image has no /bin/sh', async () => {
    const err = await evaluate('FROM scratch\nCOPY hello /\nCMD ["/hello",\n').catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'DOCKERFILE_BAD_ARGUMENT',
      line: 3,
      column: 1,
      instruction: 'CMD',
      hint: expect.stringContaining('CMD ["/hello"]'),
    });
    expect((err as Error).message).toMatch(
      /^Dockerfile:3:1: CMD: \["\/hello", looks like the exec form but is not a valid JSON array of strings.*no \/bin\/sh/,
    );
  });

  it('plain shell form fails too, ENTRYPOINT included', async () => {
    await expect(evaluate('FROM scratch\nCOPY hello /\nCMD /hello --x\n')).rejects.toMatchObject({
      line: 3,
      hint: expect.stringContaining('exec form'),
    });
    await expect(
      evaluate('FROM scratch\nCOPY hello /\nENTRYPOINT /hello\nCMD ["x"]\n'),
    ).rejects.toMatchObject({ line: 3, instruction: 'ENTRYPOINT' });
  });

  it('a later exec form wins: no error', async () => {
    const { image } = await evaluate('FROM scratch\nCOPY hello /\nCMD /hello\nCMD ["/hello"]\n');
    expect((await image.configFile()).config.Cmd).toEqual(['/hello']);
  });

  it('works when the build copies a shell in (also through bin -> usr/bin and sh -> busybox)', async () => {
    const a = await evaluate('FROM scratch\nCOPY busybox /bin/sh\nCMD echo hi\n');
    expect((await a.image.configFile()).config.Cmd).toEqual(['/bin/sh', '-c', 'echo hi']);
    const b = await evaluate('FROM scratch\nCOPY merged/ /\nCMD echo hi\n');
    expect((await b.image.configFile()).config.Cmd).toEqual(['/bin/sh', '-c', 'echo hi']);
  });

  it('a dangling /bin/sh symlink is no shell', async () => {
    await makeTree(ctx, { 'dangling/bin/sh': { symlink: 'nothing' } });
    await expect(evaluate('FROM scratch\nCOPY dangling/ /\nCMD echo hi\n')).rejects.toMatchObject({
      code: 'DOCKERFILE_BAD_ARGUMENT',
    });
  });
});
