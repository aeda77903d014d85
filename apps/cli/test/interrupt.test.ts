/**
 * The CLI's interrupt handling, in a child process (fixtures/interrupted-child.ts): the first SIGINT/SIGTERM aborts
 * the run's signal and the command unwinds (its own clean-up runs) to exit 130/143; a command that does not unwind
 * is ended by the safety net after the grace period, its tracked temp removed; a second signal exits at once.
 * Each step waits for the child to say where it is, so nothing races.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { INTERRUPT_GRACE_MS } from '../src/interrupt.ts';

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'interrupt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(mode: 'ignore' | 'unwind', temp: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'fixtures', 'interrupted-child.ts'), mode, temp],
    {
      cwd: join(here, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  const said = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.includes(`${word}\n`)) resolve();
      };
      child.stdout!.on('data', (d) => {
        out += d;
        check();
      });
      child.on('exit', () => reject(new Error(`exited before saying ${word}: ${out}`)));
      check();
    });
  const exited = new Promise<{ code: number | null; at: number }>((r) =>
    child.on('exit', (code) => r({ code, at: Date.now() })),
  );
  return { child: child as ChildProcess, said, exited };
}

it('first SIGINT: the command unwinds through the signal and exits 130 at once', async () => {
  const temp = join(dir, 'unwind.tmp');
  const c = start('unwind', temp);
  await c.said('ready');
  const at = Date.now();
  c.child.kill('SIGINT');
  const { code, at: end } = await c.exited;
  expect(code).toBe(130);
  expect(end - at).toBeLessThan(INTERRUPT_GRACE_MS);
  expect(existsSync(`${temp}.unwound`)).toBe(true); // its finally block ran
}, 20_000);

it('SIGTERM, command ignoring the signal: the safety net removes the temp after the grace period, exit 143', async () => {
  const temp = join(dir, 'ignore.tmp');
  const c = start('ignore', temp);
  await c.said('ready');
  const at = Date.now();
  c.child.kill('SIGTERM');
  await c.said('aborted');
  expect(existsSync(temp)).toBe(true); // still there while the command has its grace period
  const { code, at: end } = await c.exited;
  expect(code).toBe(143);
  expect(end - at).toBeGreaterThanOrEqual(INTERRUPT_GRACE_MS);
  expect(existsSync(temp)).toBe(false);
}, 20_000);

it('a second Ctrl-C exits at once, temp removed', async () => {
  const temp = join(dir, 'twice.tmp');
  const c = start('ignore', temp);
  await c.said('ready');
  const at = Date.now();
  c.child.kill('SIGINT');
  await c.said('aborted');
  c.child.kill('SIGINT');
  const { code, at: end } = await c.exited;
  expect(code).toBe(130);
  expect(end - at).toBeLessThan(INTERRUPT_GRACE_MS);
  expect(existsSync(temp)).toBe(false);
}, 20_000);
