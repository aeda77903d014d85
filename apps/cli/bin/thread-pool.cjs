// How many threads libuv's pool gets, where every gzip block of a layer is deflated. Plain CommonJS, loaded by
// the bin (and the bench, so its in-process figures run as the CLI does) before anything starts the pool.
'use strict';

/**
 * One thread per core, as pigz runs one compressing thread per core beside its reading and writing one: past
 * libuv's 4 on a big machine, and fewer than 4 on a machine of 2 or 3 cores, where 4 threads deflating at once
 * leave the main thread (it reads, tars, hashes and writes) a smaller share of the cores than it needs: a 200 MB
 * pack and a 170 MB import took 3–5 % longer so on 2 cores, and small files and `run` were the same either way.
 * On one core the blocks are deflated in the main thread, so the pool keeps libuv's 4 for file system calls.
 */
function threadPoolSize(cores) {
  return cores >= 2 ? cores : 4;
}

/** Set UV_THREADPOOL_SIZE from the cores this process may use, unless it is set already (an explicit one is kept). */
function sizeThreadPool() {
  const { availableParallelism } = require('node:os');
  process.env.UV_THREADPOOL_SIZE ??= String(threadPoolSize(availableParallelism()));
}

module.exports = { sizeThreadPool, threadPoolSize };
