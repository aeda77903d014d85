/** `scratchpack load [-i file.tar]`: an OCI archive (plain or gzip; a file or stdin) into the local store. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { loadArchive } from '@scratchpack/oci';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { localStore } from '../image-ref.ts';
import { runSignal } from '../interrupt.ts';
import { say, sayJson } from '../safe-text.ts';

export function loadCommand(program: Command): void {
  program
    .command('load')
    .description('load images from an OCI archive into the local store (docker load)')
    .option('-i, --input <file>', 'the archive (default: standard input)')
    .option(
      '--name <repository>',
      'repository for images tagged only with a tag (e.g. archives of build -o x.tar -t 1.0)',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { input?: string; name?: string; json?: boolean }) => {
      let input: NodeJS.ReadableStream;
      if (opts.input && opts.input !== '-') {
        const s = await stat(opts.input).catch(() => undefined);
        if (!s?.isFile())
          throw new UsageError(`${opts.input}: no such file`, 'give an OCI archive, e.g. -i hello.tar');
        input = createReadStream(opts.input);
      } else {
        if (process.stdin.isTTY)
          throw new UsageError(
            'standard input is a terminal',
            'give a file (-i image.tar) or pipe one in: scratchpack load < image.tar',
          );
        input = process.stdin;
      }
      const result = await loadArchive(localStore(), input as never, {
        source: opts.input ?? 'standard input',
        ...(opts.name ? { repository: opts.name } : {}),
        signal: runSignal(),
      });
      if (opts.json) {
        sayJson(result);
        return;
      }
      for (const n of result.names) say(`loaded ${n}`);
      if (result.unnamed) say(`(${result.unnamed} unnamed entries skipped)`);
    });
}
