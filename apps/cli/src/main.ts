/** scratchpack — daemonless, reproducible FROM-scratch images for static programs. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { platformsCommand } from './commands/platforms.ts';
import { exitCodeFor, formatError } from './errors.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function createProgram(): Command {
  const program = new Command('scratchpack')
    .description(
      'Daemonless, reproducible FROM-scratch OCI images for static programs: build, inspect, run, push, pull, import.',
    )
    .version(version)
    .option('--verbose', 'print stack traces with errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  platformsCommand(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed usage errors; --help and --version end here with code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`${formatError(err, program.opts().verbose === true)}\n`);
    return exitCodeFor(err);
  }
}

process.exitCode = await main(process.argv);
