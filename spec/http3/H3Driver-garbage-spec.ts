import * as v8 from 'node:v8';
import * as vm from 'node:vm';

import { lastValueFrom, reduce, type Subscription, switchMap } from 'rxjs';

import type { ClientH3Connection } from '../../src/http3/ClientH3Connection';
import { connect$ } from '../../src/http3/connect';
import { serveHttp3 } from '../../src/http3/serveHttp3';
import { listen$ } from '../../src/router/listen';
import { bindQuicSocket } from '../../src/socket/bindQuicSocket';
import type { ClosableQuicSocket } from '../../src/socket/NativeUdpSocket';
import { h3Certificates, h3ServerParams } from '../helpers/h3Loopback';

type Gc = (options?: { type: 'minor' | 'major' }) => void;

function oldSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
}

/**
 * A finished request must be garbage to V8's young collections, however long the drivers have
 * run. A driver's per-turn lists used to be `Set`s (replaced every turn): after full GCs in the
 * middle of turns, every scavenge from then on promoted the requests the turns had listed, ~0.5
 * MB each with 100 requests in flight, until the next full GC (see `src/util/TurnList.ts`). Here
 * both ends run in this process, full GCs hit them under load, and the scavenges after must
 * promote little: old-space growth over 8 forced scavenges, no full GC among them.
 */
describe('the HTTP/3 drivers, after a full GC under load', () => {
  // Both ends bare (the spec helpers keep every event, which is live memory here).
  const sockets: ClosableQuicSocket[] = [];
  const subscriptions: Subscription[] = [];
  let client: ClientH3Connection;
  const body = Buffer.alloc(1024, 0x71);
  const answer = Buffer.alloc(1024, 0x57);

  beforeAll(async () => {
    const serverSocket = await bindQuicSocket();
    const clientSocket = await bindQuicSocket();
    sockets.push(serverSocket, clientSocket);
    subscriptions.push(
      listen$(serverSocket, h3ServerParams())
        .pipe(
          serveHttp3(async (request) => {
            await lastValueFrom(request.body$, { defaultValue: null });
            return { status: 200, body: answer };
          }),
        )
        .subscribe(),
    );
    client = await new Promise<ClientH3Connection>((resolve, reject) => {
      subscriptions.push(
        connect$(clientSocket, 'localhost', { peer: serverSocket.localAddress, trust: { ca: h3Certificates().ca } }).subscribe({
          next: resolve,
          error: reject,
        }),
      );
    });
  });

  afterAll(() => {
    for (const s of subscriptions) s.unsubscribe();
    for (const s of sockets) s.close();
  });

  const request = (): Promise<number> =>
    lastValueFrom(
      client.controller.request({ ':method': 'POST', ':path': '/' }, body).pipe(
        switchMap((response) => response.body$),
        reduce((n, chunk) => n + chunk.length, 0),
      ),
    );

  /** `n` requests, 100 in flight; `during(done)` is called after each one. */
  const pipelined = async (n: number, during: (done: number) => void = () => undefined): Promise<void> => {
    let started = 0;
    let done = 0;
    let wrong = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (started++ < n) {
          if ((await request()) !== 1024) wrong++;
          during(++done);
        }
      }),
    );
    expect(wrong).toBe(0);
  };

  it('lets young collections free what the requests left', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as Gc;
    await pipelined(3000); // warm-up: the request path compiled, the drivers old
    // Full GCs while 100 requests are in flight, as V8 makes them whenever the old space fills.
    await pipelined(600, (done) => {
      if (done % 100 === 0) gc();
    });
    const before = oldSpaceUsed();
    let scavenges = 0;
    await pipelined(4000, (done) => {
      if (done % 500 === 0) {
        gc({ type: 'minor' });
        scavenges++;
      }
    });
    const promoted = oldSpaceUsed() - before;
    expect(scavenges).toBe(8);
    // With Sets as the drivers' per-turn lists this read 4.3-4.8 MB over the 8 scavenges; with
    // TurnLists 1.2-1.4 MB in this jest process (without the full GCs, 0.45 MB; in a plain Node
    // process, ~10 KB per scavenge either way).
    expect(promoted).toBeLessThan(2_500_000);
  }, 60_000);
});
