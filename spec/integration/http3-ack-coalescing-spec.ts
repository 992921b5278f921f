import { lastValueFrom, reduce, switchMap } from 'rxjs';

import { connect$ } from '../../src/http3/connect';
import type { ClientH3Controller } from '../../src/http3/ClientH3Controller';
import { serveHttp3 } from '../../src/http3/serveHttp3';
import { listen$ } from '../../src/router/listen';
import { bindQuicSocket } from '../../src/socket/bindQuicSocket';
import type { NativeQuicSocket } from '../../src/socket/NativeUdpSocket';
import { h3ServerParams, startH3Server } from '../helpers/h3Loopback';

const linux = process.platform === 'linux';

/** One GET of `/` (a POST of `body` when given), resolving with the response body's length. */
function get(controller: ClientH3Controller, body?: Buffer): Promise<number> {
  return lastValueFrom(
    controller.request({ ':method': body ? 'POST' : 'GET', ':path': '/' }, body).pipe(
      switchMap((response) => response.body$),
      reduce((n, chunk) => n + chunk.length, 0),
    ),
  );
}

/** Connects an HTTP/3 client on `socket` to the local `port`. */
function connectTo(socket: NativeQuicSocket, port: number): Promise<ClientH3Controller> {
  return new Promise<ClientH3Controller>((resolve, reject) =>
    connect$(socket, 'localhost', { peer: { address: '127.0.0.1', port }, insecureSkipVerify: true }).subscribe({
      next: ({ controller }) => resolve(controller),
      error: reject,
    }),
  );
}

describe('the worker flushes at the end of its turn', () => {
  // The native socket counts what it sends: node:dgram would not tell.
  (linux ? it : it.skip)(
    'sends one datagram per request in a sequential request loop: the ACK of each response leaves with the next request',
    async () => {
      const server = await startH3Server(() => ({ status: 200, body: Buffer.alloc(1024, 7) }));
      const socket = (await bindQuicSocket({ native: 'require' })) as NativeQuicSocket;
      try {
        const controller = await connectTo(socket, server.port);
        for (let i = 0; i < 10; i++) expect(await get(controller)).toBe(1024);
        const before = socket.stats().datagramsSent;
        const n = 100;
        for (let i = 0; i < n; i++) expect(await get(controller)).toBe(1024);
        // Flushing at once after reading each response sent two: an ACK, then the request.
        expect((socket.stats().datagramsSent - before) / n).toBeLessThan(1.5);
      } finally {
        socket.close();
        server.close();
      }
    },
  );

  (linux ? it : it.skip)(
    'sends one datagram each way per request with native sockets at both ends and a handler that awaits a 1 KiB body: an ACK-only datagram does not make an end flush early',
    async () => {
      const serverSocket = (await bindQuicSocket({ address: '127.0.0.1', native: 'require' })) as NativeQuicSocket;
      const socket = (await bindQuicSocket({ address: '127.0.0.1', native: 'require' })) as NativeQuicSocket;
      const listener = listen$(serverSocket, h3ServerParams())
        .pipe(
          serveHttp3(async (request) => {
            await lastValueFrom(request.body$, { defaultValue: null });
            return { status: 200, body: Buffer.alloc(1024, 7) };
          }),
        )
        .subscribe();
      try {
        const controller = await connectTo(socket, serverSocket.localAddress.port);
        const body = Buffer.alloc(1024, 1);
        for (let i = 0; i < 50; i++) expect(await get(controller, body)).toBe(1024);
        const sent = (): number => socket.stats().datagramsSent + serverSocket.stats().datagramsSent;
        const before = sent();
        const n = 300;
        for (let i = 0; i < n; i++) expect(await get(controller, body)).toBe(1024);
        // Counting the peer's ACK-only datagram toward flushing at once, both ends settled into
        // sending an ACK of their own before each request and response: four per request.
        expect((sent() - before) / n).toBeLessThan(2.5);
      } finally {
        listener.unsubscribe();
        socket.close();
        serverSocket.close();
      }
    },
  );
});
