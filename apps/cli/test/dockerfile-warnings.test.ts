/** build prints the Dockerfile's warnings (once, not once per platform) and fails a shell form without a shell. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';

describe('build: Dockerfile warnings and the shell form', () => {
  it('warns about CMD ["/hello", once; fails it with position and hint when there is no /bin/sh', async () => {
    const { path, cleanup } = await tempDir('cli-shellform-');
    try {
      const ctx = join(path, 'ctx');
      await mkdir(ctx);
      await writeFile(join(ctx, 'hello'), 'x');
      await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY hello /bin/sh\nCMD ["/hello",\n');
      const args = ['--platform', 'linux/amd64,linux/arm64', '-o', join(path, 'out')];
      const ok = await cli(['build', ctx, ...args]);
      expect(ok.status).toBe(0);
      const warnings = ok.stderr.split('\n').filter((l) => l.startsWith('warning [JSON_ARGS_INVALID]'));
      expect(warnings).toEqual([
        `warning [JSON_ARGS_INVALID]: ${join(ctx, 'Dockerfile')}:3:1: CMD ["/hello", looks like JSON but is not a JSON array of strings (Unexpected end of JSON input); it is run as a shell command, /bin/sh -c …`,
      ]);

      await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY hello /\nCMD ["/hello",\n');
      const bad = await cli(['build', ctx, ...args]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain(`error [DOCKERFILE_BAD_ARGUMENT]: ${join(ctx, 'Dockerfile')}:3:1: CMD: `);
      expect(bad.stderr).toMatch(/no \/bin\/sh\nhint: fix the JSON/);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
