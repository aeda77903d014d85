/**
 * Before each test file: the CLIs it spawns get an image store of their own (`SCRATCHPACK_STORE`), never the
 * user's `~/.local/share/scratchpack/images`, so test files can run side by side (and no test leaves images in the
 * store of the person running them). A test that wants the default location sets `SCRATCHPACK_STORE: ''`.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'scratchpack-test-store-'));
// Traversable, so a CLI run as another user (uid 65534) in the same file can reach a store made here for it.
chmodSync(dir, 0o755);
process.env.SCRATCHPACK_STORE = join(dir, 'store');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
