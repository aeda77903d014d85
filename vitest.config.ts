import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests (in-memory fakes allowed) and integration tests that drive the
// real parts: zig, qemu-user, Debian's docker-registry, skopeo. Integration files end in `.int.test.ts`.
// Before any file: the CLI bundle is made current (the tests spawn the CLI hundreds of times). Before each file:
// its CLIs get an image store of their own, never the user's, so files can run side by side.
const setupFiles = ['./test/setup-env.ts'];
// One pool for both projects (vitest wants the same worker count to mix them): at least two files at a time —
// much of an integration file is waiting on processes (podman, bwrap, the registry, qemu start-up) — and no more
// than the machine's cores.
const maxWorkers = Math.max(2, availableParallelism());

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{toolchain,packages/*,apps/*,bench}/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          setupFiles,
          maxWorkers,
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          // Before the first integration file: zig's libc for every platform, built once (test/zig-libc-setup.ts).
          globalSetup: ['./test/zig-libc-setup.ts'],
          include: ['{toolchain,packages/*,apps/*,bench}/test/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          setupFiles,
          testTimeout: 300_000,
          hookTimeout: 600_000,
          // Files share nothing but content-addressed caches (zig's, the compiled fixtures, the rootfs tars).
          maxWorkers,
        },
      },
    ],
  },
});
