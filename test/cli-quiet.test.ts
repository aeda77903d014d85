import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

describe('the README runs the CLI as `pnpm exec scratchpack`', () => {
  it('every CLI example in the README uses it', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const examples = readme.split('\n').filter((l) => /^(?:\S+=\S+ )*pnpm (?:exec )?scratchpack /.test(l));
    expect(examples.length).toBeGreaterThan(5);
    expect(examples.filter((l) => !/pnpm exec scratchpack /.test(l))).toEqual([]);
  });

  it("an error is the CLI's own: its message and exit code, no pnpm lifecycle line", () => {
    const store = mkdtempSync(join(tmpdir(), 'quiet-'));
    try {
      const r = spawnSync('pnpm', ['exec', 'scratchpack', 'inspect', 'store:no-such-image'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, SCRATCHPACK_STORE: store },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^error \[STORE_IMAGE_NOT_FOUND\]: no image named no-such-image in the local store\n/,
      );
      expect(r.stderr).not.toMatch(/ELIFECYCLE|Command failed/);
      expect(r.stdout).toBe('');
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('with --json, an error is also one JSON document on stdout, and the exit code is the same', () => {
    const store = mkdtempSync(join(tmpdir(), 'quiet-'));
    try {
      const r = spawnSync('pnpm', ['exec', 'scratchpack', 'inspect', 'store:no-such-image', '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, SCRATCHPACK_STORE: store },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^error \[STORE_IMAGE_NOT_FOUND\]: /);
      expect(JSON.parse(r.stdout)).toEqual({
        error: {
          code: 'STORE_IMAGE_NOT_FOUND',
          message: 'no image named no-such-image in the local store',
          hint: expect.any(String),
          temporary: false,
        },
      });
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });
});
