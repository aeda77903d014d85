import { PLATFORMS, qemuFor, resolveZig, ZigNotFoundError } from '@scratchpack/toolchain';
import { type Command, Option } from 'commander';
import { table } from '../output.ts';
import { say, sayJson } from '../safe-text.ts';

export function platformsCommand(program: Command): void {
  program
    .command('platforms')
    .description('list the platform matrix and whether zig and qemu-user can serve each platform here')
    .addOption(new Option('--json', 'print JSON'))
    .action((opts: { json?: boolean }) => {
      let zig: ReturnType<typeof resolveZig> | undefined;
      let zigProblem: string | undefined;
      try {
        zig = resolveZig();
      } catch (err) {
        if (!(err instanceof ZigNotFoundError)) throw err;
        zigProblem = 'no zig found (run `pnpm install`, or set ZIG)';
      }
      const rows = PLATFORMS.map((p) => {
        const runner = qemuFor(p);
        const build = p.unsupported ? `no: ${p.unsupported}` : zig ? 'yes' : `no: ${zigProblem}`;
        const run =
          runner.kind === 'native'
            ? 'native'
            : runner.command
              ? `${p.qemu} -cpu ${p.qemuCpu}`
              : `no: ${p.qemu} missing (apt-get install qemu-user-static)`;
        return { platform: p.name, label: p.label, zigTarget: p.zigTarget, zigCpu: p.zigCpu, build, run };
      });
      if (opts.json) {
        sayJson({ zig: zig ?? null, platforms: rows });
        return;
      }
      say(zig ? `zig ${zig.version} from ${zig.source} (${zig.path})\n` : `zig: ${zigProblem}\n`);
      say(
        table(
          rows.map((r) => [r.platform, r.label, `${r.zigTarget} -mcpu=${r.zigCpu}`, r.build, r.run]),
          ['PLATFORM', 'LABEL', 'ZIG TARGET', 'BUILD', 'RUN'],
        ),
      );
    });
}
