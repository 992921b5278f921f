// @ts-check
/**
 * The per-request half of `npm run bench:check`, run by it in a child process: our HTTP/3 server
 * and client in this one process, over loopback (the native socket where there is one), 1 KiB
 * POST → 1 KiB response, strictly sequential. After 300 warm-up requests it counts, over 1,000
 * more, the native calls both ends make (every method of the addon's `Connection`,
 * `H3Connection` and `UdpSocket`, counted by wrapping their prototypes) and the datagrams both
 * sockets send, and prints them per request as one JSON line.
 *
 * Both are counts, so they come out the same on a busy machine: a timer firing during the run
 * moves them by a few hundredths. They catch what timings here cannot: a crossing added to every
 * step, or ACK-only datagrams sent on their own (see `ACK_EVERY_BYTES` in `src/connection/IoWorker.ts`).
 *
 * Plain JavaScript on the compiled library (`dist/cjs`), which `bench:check` builds first.
 */
'use strict';
const { napi } = require('../../dist/cjs/native/binding');
const { ANSWER, startH3Pair } = require('./h3-pair');

const WARM_UP = 300;
const MEASURED = 1000;

let counting = false;
let calls = 0;
for (const cls of [napi.Connection, napi.H3Connection, napi.UdpSocket]) {
  const proto = cls.prototype;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (name === 'constructor' || !d || typeof d.value !== 'function') continue;
    const method = d.value;
    proto[name] = function (/** @type {unknown[]} */ ...args) {
      if (counting) calls++;
      return method.apply(this, args);
    };
  }
}

/** @param {import('../../dist/cjs').QuicSocket} socket */
function datagramsSent(socket) {
  const stats = /** @type {{ stats?: () => { datagramsSent: number } }} */ (/** @type {unknown} */ (socket)).stats;
  return stats ? stats.call(socket).datagramsSent : NaN;
}

async function main() {
  const { serverSocket, clientSocket, request } = await startH3Pair();
  for (let i = 0; i < WARM_UP; i++) await request();
  const sent0 = datagramsSent(serverSocket) + datagramsSent(clientSocket);
  counting = true;
  for (let i = 0; i < MEASURED; i++) {
    const n = await request();
    if (n !== ANSWER.length) throw new Error(`request ${i}: ${n} bytes of ${ANSWER.length}`);
  }
  counting = false;
  const sent = datagramsSent(serverSocket) + datagramsSent(clientSocket) - sent0;
  console.log(JSON.stringify({ nativeCallsPerRequest: calls / MEASURED, datagramsPerRequest: sent / MEASURED }));
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
