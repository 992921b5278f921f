// @ts-check
/**
 * The garbage half of `npm run bench:check`, run by it in a child process under
 * `node --trace-gc-nvp`: our HTTP/3 server and client in this one process, over loopback on the
 * native socket (node:dgram where it is not available), 1 KiB POST → 1 KiB response. After a
 * warm-up (3,000 sequential requests, then 10,000 with 100 in flight) it prints `GC-PROBE start`,
 * runs 3,000 sequential and 20,000 pipelined requests, and prints `GC-PROBE end <requests>`.
 * The parent sums what V8's scavenges promoted between the two lines.
 *
 * With `--large-heap` it first fills the old generation with 2 million small live objects
 * (~100 MB), as a real application's heap often is: V8 makes pretenuring decisions only then,
 * and a literal it decided to allocate old (see `decodeFieldSection`) shows only there.
 *
 * With `--full-gcs` (and node's `--expose-gc`) it runs five full GCs while 100 requests are in
 * flight during the warm-up, as V8 does whenever the old generation fills: what is live then
 * becomes old at once, which is how the drivers' per-turn `Set`s made every later scavenge
 * promote the requests they listed (see `src/util/TurnList.ts`).
 *
 * Plain JavaScript on the compiled library (`dist/cjs`, which `bench:check` builds first), not
 * TypeScript through ts-node, so the heap is what the flag says: the TypeScript compiler alone
 * makes an old generation of ~125 MB.
 */
'use strict';
const { startH3Pair } = require('./h3-pair');

const SEQUENTIAL = 3000;
const PIPELINED = 20_000;
const IN_FLIGHT = 100;

/** Filler for the old generation when `--large-heap` is given. */
class Ballast {
  /** @param {number} i */
  constructor(i) {
    this.i = i;
    this.next = null;
  }
}

/**
 * Module-level, so it stays alive for the whole run.
 * @type {Ballast[]}
 */
const ballast = [];

async function main() {
  if (process.argv.includes('--large-heap')) for (let i = 0; i < 2_000_000; i++) ballast.push(new Ballast(i));
  const { served, request } = await startH3Pair();
  /** @param {number} n */
  const sequential = async (n) => {
    for (let i = 0; i < n; i++) await request();
  };
  /**
   * @param {number} n
   * @param {(done: number) => void} [each] called as each request finishes
   */
  const pipelined = async (n, each = () => undefined) => {
    let started = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (started++ < n) {
          await request();
          each(++done);
        }
      }),
    );
  };
  await sequential(3000);
  const fullGcs = process.argv.includes('--full-gcs');
  await pipelined(10_000, (done) => {
    if (fullGcs && done % 100 === 0 && done <= 500) /** @type {() => void} */ (globalThis.gc)();
  });
  console.log('GC-PROBE start');
  await sequential(SEQUENTIAL);
  await pipelined(PIPELINED);
  console.log(`GC-PROBE end ${SEQUENTIAL + PIPELINED}`);
  served.unsubscribe();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
