import { describe, it } from 'vitest';
import { requireTools } from './tools.ts';

/**
 * `describe` for a suite that needs external tools (qemu, zig, docker-registry, skopeo, …).
 * On a developer machine without a tool the suite is skipped and says what to install;
 * under CI (`CI=true`) it fails instead, so a missing install step can never pass as green.
 */
export function describeWithTools(tools: string[], title: string, fn: () => void): void {
  const r = requireTools(...tools);
  if (r.skip) {
    describe.skip(`${title} — skipped: ${r.reason}`, fn);
    return;
  }
  if (r.missing.length > 0) {
    describe(title, () => {
      it('has the tools it needs', () => {
        throw new Error(r.reason);
      });
    });
    return;
  }
  describe(title, fn);
}
