/**
 * @scratchpack/local-registry — Debian's `docker-registry` on 127.0.0.1, for the integration tests (through
 * @scratchpack/test-utils, which adds auth), the benchmarks and the release dry run.
 */
export { freePort } from './ports.ts';
export {
  type LocalRegistry,
  type LocalRegistryOptions,
  registryConfig,
  startLocalRegistry,
} from './registry.ts';
