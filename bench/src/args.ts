/** Command-line flags of `pnpm bench` (node's `parseArgs` tokens). */
import { type ParseArgsConfig, parseArgs as parseArgv } from 'node:util';
import { ScratchpackError } from '@scratchpack/oci';

export const SECTIONS = [
  'size',
  'pack',
  'push',
  'build',
  'repro',
  'import',
  'memory',
  'run',
  'base',
  'small-files',
] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchArgs {
  only: Section[];
  /** Runs per timed figure (median of these). */
  runs: number;
  /** Size of the generated tree and of the big push layer, in MB (default 200). */
  sizeMb: number;
  /** Where latest.json / latest.md go. */
  out: string | undefined;
}

export const USAGE = `usage: pnpm bench [--only size,pack,push,build,repro,import,memory,run,base,small-files] [--runs N] [--mb N] [--out DIR]
  --only   sections to run (default: all)
  --runs   runs per timed figure; the median is reported with min–max (default 5; fewer is only for trying out)
  --mb     size of the generated tree and of the big push layer in MB (default 200)
  --out    directory for latest.json and latest.md (default bench/results)`;

const OPTIONS = {
  only: { type: 'string' },
  runs: { type: 'string' },
  mb: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

type ArgToken = NonNullable<ReturnType<typeof parseArgv>['tokens']>[number];

/** node's argument tokens of `args`, where a `--` (as pnpm passes one on) is skipped instead of ending the options. */
function argTokens(args: string[]): ArgToken[] {
  const { tokens } = parseArgv({
    args,
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const end = tokens.findIndex((t) => t.kind === 'option-terminator');
  if (end < 0) return tokens;
  const next = tokens[end]!.index + 1;
  return [
    ...tokens.slice(0, end),
    ...argTokens(args.slice(next)).map((t) => ({ ...t, index: t.index + next })),
  ];
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { only: [...SECTIONS], runs: 5, sizeMb: 200, out: undefined };
  for (const t of argTokens([...argv])) {
    const a = argv[t.index]!;
    if (t.kind !== 'option' || (t.rawName !== `--${t.name}` && a.split('=')[0] !== '-h'))
      throw new UsageError(`unknown flag ${a}`);
    const value = () => {
      if (t.value === undefined || t.value === '') throw new UsageError(`${t.rawName} needs a value`);
      return t.value;
    };
    switch (t.name) {
      case 'only': {
        const names = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const n of names) {
          if (!(SECTIONS as readonly string[]).includes(n))
            throw new UsageError(`--only: unknown section "${n}" (expected ${SECTIONS.join(', ')})`);
        }
        args.only = SECTIONS.filter((s) => names.includes(s));
        break;
      }
      case 'runs':
        args.runs = positiveInt(t.rawName, value());
        break;
      case 'mb':
        args.sizeMb = positiveInt(t.rawName, value());
        break;
      case 'out':
        args.out = value();
        break;
      case 'help':
        throw new UsageError('', true);
      default:
        throw new UsageError(`unknown flag ${a}`);
    }
  }
  return args;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive integer, got "${v}"`);
  return n;
}

export class UsageError extends ScratchpackError {
  declare readonly code: 'USAGE';
  constructor(
    message: string,
    readonly help = false,
  ) {
    super('USAGE', message);
    this.name = 'UsageError';
  }
}
