/** A bounded lane of a {@link Work}: `run(fn)` starts `fn` once fewer than its limit run, urgent calls first. */
export interface Lane {
  run<R>(fn: () => Promise<R>, urgent?: boolean): Promise<R>;
}

/**
 * Work that is a graph rather than one list (a push: blobs, then each manifest once what it names is there).
 * Each step is `task(lane, after, fn)`: `fn` starts once the steps in `after` succeeded and its lane has room.
 * The first failure stops the whole work: nothing queued starts any more (it rejects with that failure), what
 * is in flight ends, and `settle()` throws it once every step has settled. Within a lane urgent steps go
 * first (a manifest that unblocks others before the next blob), else first come, first served.
 */
export class Work {
  private failed = false;
  private failure: unknown;
  private readonly steps: Promise<unknown>[] = [];

  lane(concurrency: number): Lane {
    const limit = Math.max(1, concurrency);
    let active = 0;
    const urgentQueue: (() => void)[] = [];
    const queue: (() => void)[] = [];
    const next = () => {
      while (active < limit) {
        const start = urgentQueue.shift() ?? queue.shift();
        if (!start) return;
        start();
      }
    };
    return {
      run: <R>(fn: () => Promise<R>, urgent = false) =>
        new Promise<R>((resolve, reject) => {
          const start = () => {
            if (this.failed) {
              reject(this.failure);
              return;
            }
            active++;
            Promise.resolve()
              .then(fn)
              .then(resolve, (err: unknown) => {
                // Before the slot is handed on: the next queued step must see the failure.
                this.fail(err);
                reject(err);
              })
              .finally(() => {
                active--;
                next();
              });
          };
          (urgent ? urgentQueue : queue).push(start);
          next();
        }),
    };
  }

  /** A step: `fn` in `lane` once `after` succeeded. Its failure stops the work. */
  task<R>(lane: Lane, after: readonly Promise<unknown>[], fn: () => Promise<R>, urgent = false): Promise<R> {
    return this.track(
      (async () => {
        await Promise.all(after);
        return lane.run(fn, urgent);
      })(),
    );
  }

  /** Count `p` as a step of the work: its failure stops the work. */
  track<R>(p: Promise<R>): Promise<R> {
    this.steps.push(p.then(undefined, (err: unknown) => this.fail(err)));
    return p;
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
  }

  /** Wait until every step (also those added meanwhile) settled; throw the first failure. */
  async settle(): Promise<void> {
    for (let seen = 0; seen < this.steps.length; ) {
      const batch = this.steps.slice(seen);
      seen = this.steps.length;
      await Promise.all(batch);
    }
    if (this.failed) throw this.failure;
  }
}
