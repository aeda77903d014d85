/** scratchpack — daemonless, reproducible FROM-scratch images for static programs. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help, type Option } from 'commander';
import { baseCommand } from './commands/base.ts';
import { buildCommand } from './commands/build.ts';
import { copyCommand } from './commands/copy.ts';
import { imagesCommand } from './commands/images.ts';
import { importCommand } from './commands/import.ts';
import { inspectCommand } from './commands/inspect.ts';
import { loadCommand } from './commands/load.ts';
import { loginCommand } from './commands/login.ts';
import { platformsCommand } from './commands/platforms.ts';
import { pullCommand } from './commands/pull.ts';
import { pushCommand } from './commands/push.ts';
import { rmiCommand } from './commands/rmi.ts';
import { runCommand } from './commands/run.ts';
import { saveCommand } from './commands/save.ts';
import { sbomCommand } from './commands/sbom.ts';
import { signCommand } from './commands/sign.ts';
import { tagCommand } from './commands/tag.ts';
import { verifyCommand } from './commands/verify.ts';
import { ExitError, errorJsonFor, exitCodeFor, formatError } from './errors.ts';
import { cleanUpOnInterrupt, exitIfInterrupted, interruptStatus } from './interrupt.ts';
import { safeJson } from './safe-text.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** How every command reads an image name (@scratchpack/transport's one rule; the README has the same table). */
const NAMES_HELP = `
How scratchpack reads an image name (run, inspect, push, copy, sign, verify, sbom, FROM):
  oci:DIR[:TAG|@DIGEST]   an OCI layout          oci-archive:FILE[:TAG]   an OCI archive
  docker://REF            a registry             store:NAME               the local store
  no prefix: a path that exists or starts with /, ./, ../ is a layout (a directory) or an archive (a file);
  a name is the local store's when it has it, else the registry's (as docker run).
Outputs (build -o, copy's destination): a name whose first part is a registry host (127.0.0.1:5000/app:1,
  ghcr.io/me/app) is pushed; other names are layout directories; store:NAME is the local store.
`;

/**
 * Help for an option, without `(default: [])` for repeatable options that start empty (an option whose real
 * default is something else says so with `Option.default(value, description)`, e.g. build's --platform).
 */
function optionDescription(this: Help, o: Option): string {
  const empty = Array.isArray(o.defaultValue) && o.defaultValue.length === 0 && !o.defaultValueDescription;
  const shown = empty
    ? Object.assign(Object.create(Object.getPrototypeOf(o)), o, { defaultValue: undefined })
    : o;
  return Help.prototype.optionDescription.call(this, shown);
}

/**
 * `--push` where there is none (import, base, copy, pull): commander would suggest `--pull`; say how pushing
 * is spelled here instead.
 */
export function withPushHint(text: string): string {
  if (!/unknown option '--push(=[^']*)?'/.test(text)) return text;
  return `${text.replace(/\n?\(Did you mean [^)]*\)/, '').trimEnd()}
hint: outputs are pushed by their name: give a registry reference as the destination or -o (HOST/REPO:TAG, docker://REF, -o type=registry,name=REF), or push a stored image with scratchpack push NAME REF (build takes --push with -t)
`;
}

export function createProgram(): Command {
  const program = new Command('scratchpack')
    .description(
      'Daemonless, reproducible FROM-scratch OCI images for static programs: build, inspect, run, push, pull, import.',
    )
    .version(version)
    .option('--verbose', 'print stack traces with errors')
    .configureHelp({ optionDescription })
    .configureOutput({ outputError: (text, write) => write(withPushHint(text)) })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // Options after a subcommand are that subcommand's (`run IMAGE prog -x` passes -x to prog).
    .enablePositionalOptions();
  platformsCommand(program);
  buildCommand(program);
  baseCommand(program);
  inspectCommand(program);
  runCommand(program);
  pushCommand(program);
  pullCommand(program);
  copyCommand(program);
  importCommand(program);
  imagesCommand(program);
  rmiCommand(program);
  tagCommand(program);
  saveCommand(program);
  loadCommand(program);
  for (const c of program.commands)
    if (!c.options.some((o) => o.long === '--verbose'))
      c.option('--verbose', 'print stack traces with errors');
  loginCommand(program);
  signCommand(program);
  verifyCommand(program);
  sbomCommand(program);
  program.addHelpText('after', NAMES_HELP);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // Interrupted: the command unwound (AbortedError, or whatever the abort caused); the status says it all.
    const interrupted = interruptStatus();
    if (interrupted !== undefined) return interrupted;
    if (err instanceof CommanderError) {
      // commander already printed usage errors; --help and --version end here with code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof ExitError && !err.message) return err.status;
    // Nested commands too (`base static --json`).
    const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
    const commands = all(program);
    process.stderr.write(
      `${formatError(
        err,
        commands.some((c) => c.opts().verbose === true),
      )}\n`,
    );
    // With --json, stdout holds one JSON document either way: the result, or {"error": {code, message, hint?, temporary}}.
    if (commands.some((c) => c.opts().json === true))
      process.stdout.write(`${safeJson({ error: errorJsonFor(err) })}\n`);
    return exitCodeFor(err);
  }
}

cleanUpOnInterrupt();
// No top-level await: the bundle is a CommonJS script (bin/scratchpack.js runs it with V8's code cache).
void main(process.argv).then((status) => {
  process.exitCode = status;
  exitIfInterrupted();
});
