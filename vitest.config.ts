import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests (in-memory fakes allowed) and integration tests that drive the
// real parts: zig, qemu-user, Debian's docker-registry, skopeo. Integration files end in `.int.test.ts`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{toolchain,packages/*,apps/*,bench}/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{toolchain,packages/*,apps/*,bench}/test/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          // Two cores: zig and qemu are CPU bound, so integration files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
