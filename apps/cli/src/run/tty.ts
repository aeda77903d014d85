/**
 * The caller's terminal for `run -t`: raw mode while the container's own pty is relayed (keys such as Ctrl-C
 * reach the program through its terminal, as under Docker), and the mode restored on every exit path — the
 * normal return, an error, and the process exiting (a second signal, the safety net).
 */
import type { Terminal } from '@scratchpack/runtime';

/** The relay's ends on this process's stdin/stdout, and `restore` (idempotent). Only when stdin is a TTY. */
export function callerTerminal(): { terminal: Terminal; restore: () => void } {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const wasRaw = stdin.isRaw === true;
  stdin.setRawMode(true);
  stdin.resume();
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    stdin.setRawMode(wasRaw);
    stdin.pause();
  };
  process.on('exit', restore);
  const terminal: Terminal = {
    input: stdin,
    output: stdout,
    size: () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 }),
    onResize(cb) {
      stdout.on('resize', cb);
      return () => stdout.off('resize', cb);
    },
  };
  return { terminal, restore };
}
