/** Which vitest command lines are narrowed to files (and so skip warming zig's libc for every platform). */
import { expect, it } from 'vitest';
import { fileFilters } from './zig-libc-setup.ts';

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
