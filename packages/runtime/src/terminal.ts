/**
 * `-t`: the program gets a pseudo-terminal of its own (`@lydell/node-pty`), relayed to the caller's terminal —
 * keystrokes in, output out, window size on resize — so TIOCSTI and friends reach only the container's own
 * terminal. The caller puts its terminal in raw mode and restores it (the CLI does, on every exit path).
 */

/** node-pty is a native addon: loaded on the first `-t`, not by every start of the CLI. */
let pty: Promise<typeof import('@lydell/node-pty')> | undefined;

/** The caller's side of the relay. */
export interface Terminal {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  size(): { cols: number; rows: number };
  /** Calls `cb` whenever the caller's window changes size; returns the unsubscribe. */
  onResize(cb: () => void): () => void;
}

/** Run `argv` on a new pty relayed to `t`; `started` gets its pid. Resolves to its exit status (128+N by signal N). */
export async function runInPty(
  argv: string[],
  env: Record<string, string>,
  t: Terminal,
  started: (pid: number) => void,
): Promise<number> {
  pty ??= import('@lydell/node-pty');
  const { spawn } = await pty;
  const { cols, rows } = t.size();
  const child = spawn(argv[0]!, argv.slice(1), {
    name: env.TERM ?? 'xterm',
    cols,
    rows,
    env,
    encoding: null, // bytes both ways
  });
  started(child.pid);
  const out = child.onData((d) => t.output.write(d));
  // With no encoding, writes go to the pty's socket as they are (node-pty's types say string only).
  const input = (d: Buffer | string) => child.write(d as string);
  t.input.on('data', input);
  const offResize = t.onResize(() => {
    const s = t.size();
    child.resize(s.cols, s.rows);
  });
  return new Promise((resolve) => {
    child.onExit(({ exitCode, signal }) => {
      t.input.off('data', input);
      offResize();
      out.dispose();
      resolve(signal ? 128 + signal : exitCode);
    });
  });
}
