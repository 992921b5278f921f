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
const { lastValueFrom, reduce, switchMap } = require('rxjs');

const { bindQuicSocket, ConnectionParams, connect$, listen$, serveHttp3 } = require('../../dist/cjs');
const { napi } = require('../../dist/cjs/native/binding');

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
  const ca = napi.generateCertificate({ isCa: true, commonName: 'rxjs-quiche gc-probe CA', subjectAltNames: [] });
  const leaf = napi.generateCertificate({ subjectAltNames: ['localhost', '127.0.0.1'], issuerCert: ca.cert, issuerKey: ca.key });
  const body = Buffer.alloc(1024, 0x71);
  const answer = Buffer.alloc(1024, 0x57);
  const serverSocket = await bindQuicSocket({ address: '127.0.0.1', port: 0 });
  const params = ConnectionParams.newServer({ disableClientIpValidation: true }, { certChain: leaf.cert + ca.cert, privateKey: leaf.key });
  const served = listen$(serverSocket, params)
    .pipe(
      serveHttp3(async (request) => {
        await lastValueFrom(request.body$, { defaultValue: null });
        return { status: 200, body: answer };
      }),
    )
    .subscribe();
  const clientSocket = await bindQuicSocket({ address: '127.0.0.1', port: 0 });
  const { port } = serverSocket.localAddress;
  /** @type {import('../../dist/cjs').ClientH3Connection} */
  const connection = await new Promise((resolve, reject) => {
    connect$(clientSocket, 'localhost', { peer: { address: '127.0.0.1', port }, trust: { ca: ca.cert } }).subscribe({ next: resolve, error: reject });
  });
  const request = () =>
    lastValueFrom(
      connection.controller.request({ ':method': 'POST', ':path': '/' }, body).pipe(
        switchMap((response) => response.body$),
        reduce((n, chunk) => n + chunk.length, 0),
      ),
    );
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
