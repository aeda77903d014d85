/** Command-line flags of `pnpm bench`. */
import { ScratchpackError } from '@scratchpack/oci';

export const SECTIONS = ['size', 'pack', 'push', 'build', 'repro', 'import', 'memory'] as const;
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

export const USAGE = `usage: pnpm bench [--only size,pack,push,build,repro,import,memory] [--runs N] [--mb N] [--out DIR]
  --only   sections to run (default: all)
  --runs   runs per timed figure; the median is reported with min–max (default 5; fewer is only for trying out)
  --mb     size of the generated tree and of the big push layer in MB (default 200)
  --out    directory for latest.json and latest.md (default bench/results)`;

export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { only: [...SECTIONS], runs: 5, sizeMb: 200, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--only': {
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
      case '--runs':
        args.runs = positiveInt(flag, value());
        break;
      case '--mb':
        args.sizeMb = positiveInt(flag, value());
        break;
      case '--out':
        args.out = value();
        break;
      case '--':
        break;
      case '-h':
      case '--help':
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
