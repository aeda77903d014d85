/** Which vitest command lines are narrowed to files (and so skip warming zig's libc for every platform). */
import { expect, it, vi } from 'vitest';
import { fileFilters, quietNotice } from './zig-libc-setup.ts';

const node = '/usr/bin/node';
const vitest = '/repo/node_modules/vitest/vitest.mjs';

it('a whole run, or a whole project, has no file filters', () => {
  expect(fileFilters([node, vitest, 'run'])).toEqual([]);
  expect(fileFilters([node, vitest])).toEqual([]);
  expect(fileFilters([node, vitest, 'run', '--project', 'integration'])).toEqual([]);
  expect(
    fileFilters([node, '/repo/node_modules/.bin/vitest', 'run', '-t', 'pushes', '--reporter', 'dot']),
  ).toEqual([]);
});

it('paths and name parts after the options are file filters', () => {
  expect(fileFilters([node, vitest, 'run', 'apps/cli/test/programs.int.test.ts'])).toEqual([
    'apps/cli/test/programs.int.test.ts',
  ]);
  expect(
    fileFilters([node, vitest, 'run', '--project', 'integration', 'httpd', '--maxWorkers', '2']),
  ).toEqual(['httpd']);
  expect(fileFilters([node, vitest, 'push', '--project=integration'])).toEqual(['push']);
});

it('without the vitest script in argv, the arguments after node and the script are read', () => {
  expect(fileFilters([node, 'cli.js', 'run', 'a.test.ts'])).toEqual(['a.test.ts']);
  expect(fileFilters([node, 'cli.js', 'run'])).toEqual([]);
});

it('the "zig is building" notice: quiet while platforms finish within the time, told once when none does', () => {
  vi.useFakeTimers();
  try {
    const tell = vi.fn();
    // A warm cache without the stamp: 15 links of ~0.9 s each, 13.5 s in all, never 10 s without one.
    const warm = quietNotice(10_000, tell);
    for (let i = 0; i < 15; i++) {
      vi.advanceTimersByTime(900);
      warm.progress();
    }
    warm.stop();
    vi.advanceTimersByTime(60_000);
    expect(tell).not.toHaveBeenCalled();
    expect(warm.told).toBe(false);
    // Two cached, then one being built: told 10 s after the last one finished, and only once.
    const cold = quietNotice(10_000, tell);
    cold.progress();
    vi.advanceTimersByTime(900);
    cold.progress();
    vi.advanceTimersByTime(9_999);
    expect(tell).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(tell).toHaveBeenCalledTimes(1);
    expect(cold.told).toBe(true);
    cold.progress();
    vi.advanceTimersByTime(60_000);
    expect(tell).toHaveBeenCalledTimes(1);
    cold.stop();
  } finally {
    vi.useRealTimers();
  }
});
