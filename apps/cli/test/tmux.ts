/** A real terminal for `run -t` tests: a detached tmux session on a private server, driven by keystrokes. */
import { execFileSync } from 'node:child_process';

export class Tmux {
  private readonly socket = `scratchpack-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  /** Start `argv` (a shell) in an 120×30 terminal with `env` added. */
  constructor(argv: string[], env: NodeJS.ProcessEnv) {
    this.tmux(['new-session', '-d', '-x', '120', '-y', '30', '--', ...argv], env);
  }

  private tmux(args: string[], env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { env, encoding: 'utf8' });
  }

  /** Type `line` and Enter. */
  type(line: string): void {
    this.tmux(['send-keys', '-l', line]);
    this.tmux(['send-keys', 'Enter']);
  }

  /** Press a key by its tmux name, e.g. `C-c`. */
  key(name: string): void {
    this.tmux(['send-keys', name]);
  }

  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-200']);
  }

  /** Wait (up to `ms`) until the screen matches `re`; the screen then. */
  async waitFor(re: RegExp, ms = 180_000): Promise<string> {
    for (const end = Date.now() + ms; Date.now() < end; ) {
      const s = this.screen();
      if (re.test(s)) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`terminal never showed ${re}:\n${this.screen()}`);
  }

  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // already gone
    }
  }
}
