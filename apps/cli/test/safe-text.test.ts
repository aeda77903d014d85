/** Terminal safety: outside text is escaped before printing; the JSON output stays JSON that parses the same. */
import { startHostileRegistry, tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import { formatError } from '../src/errors.ts';
import { safeJson, safeText } from '../src/safe-text.ts';
import { cli } from './helpers.ts';
import { tarOf } from './tar-fixtures.ts';

const HOSTILE = 'evil\u001b[31m red\u001b]0;title\u0007 \u202etxt.exe\u009b2J\u007f\r\u200b\u2028x';
// Nothing a terminal acts on: C0 but \n, DEL, C1, bidi controls, zero-width, line separators.
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

describe('safeText', () => {
  it('escapes control and format characters visibly, keeps other text', () => {
    const out = safeText(HOSTILE);
    expect(out).toBe('evil\\x1b[31m red\\x1b]0;title\\x07 \\u202etxt.exe\\x9b2J\\x7f\\r\\u200b\\u2028x');
    expect(out).not.toMatch(RAW);
    expect(safeText('a\nb\tc')).toBe('a\\nb\\tc');
    expect(safeText('a\nb\tc', { multiline: true })).toBe('a\nb\\tc');
    expect(safeText('héllo 世界 🙂')).toBe('héllo 世界 🙂');
    expect(safeText('lone \ud800 surrogate')).toBe('lone \\ud800 surrogate');
  });

  it('safeJson: \\u-escapes what JSON.stringify leaves raw, and parses back to the same value', () => {
    const value = { msg: HOSTILE, list: ['\u2066x\u2069'], n: 1 };
    const text = safeJson(value, 2);
    expect(text).not.toMatch(RAW);
    expect(text).toContain('\\u202e');
    expect(text).toContain('\\u009b');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('formatError escapes the message and keeps its own line breaks', () => {
    const out = formatError(Object.assign(new Error(`bad name "${HOSTILE}"`), { code: 'X' }));
    expect(out).toMatch(/^error \[X\]: bad name "evil\\x1b\[31m/);
    expect(out).not.toMatch(RAW);
  });
});

describe('the CLI prints outside text escaped', () => {
  it('a registry 403 body with ANSI escapes and U+202E: escaped on stderr, \\u-escaped in --json', async () => {
    const body = JSON.stringify({ errors: [{ code: 'DENIED', message: `no access ${HOSTILE}` }] });
    const server = await startHostileRegistry({
      rules: [
        {
          path: '/manifests/',
          action: { status: 403, headers: { 'content-type': 'application/json' }, body },
        },
      ],
    });
    const { path, cleanup } = await tempDir('cli-safe-');
    try {
      const r = await cli(['pull', `${server.host}/app:1`, `${path}/oci`, '--json'], { timeout: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('error [DENIED]');
      expect(r.stderr).toContain('no access evil\\x1b[31m red\\x1b]0;title\\x07 \\u202etxt.exe');
      expect(r.stderr).not.toMatch(RAW);
      expect(r.stdout).not.toMatch(/[\u007f-\u009f\u202e\u200b\u2028]/);
      const json = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      expect(json.error.code).toBe('DENIED');
      expect(json.error.message).toContain(HOSTILE);
    } finally {
      await server.stop();
      await cleanup();
    }
  }, 60_000);

  it('a tar entry name with an escape sequence, in the refusal, is escaped', async () => {
    const { path, cleanup } = await tempDir('cli-safe-');
    try {
      const tar = tarOf([{ name: '/\u001b[2Jetc\u202e/passwd', content: 'x' }]);
      const r = await cli(['import', '-', 'evil', '--platform', 'linux/amd64'], {
        input: tar,
        env: { SCRATCHPACK_STORE: `${path}/store` },
        timeout: 60_000,
      });
      expect(r.status).not.toBe(0);
      // The library quotes the name with JSON.stringify (\u001b); the CLI escapes what that leaves (U+202E).
      expect(r.stderr).toContain('"/\\u001b[2Jetc\\u202e/passwd": absolute paths are not allowed');
      expect(r.stderr).not.toMatch(RAW);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
