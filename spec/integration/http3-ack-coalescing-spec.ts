import { lastValueFrom, reduce, switchMap } from 'rxjs';

import { connect$ } from '../../src/http3/connect';
import type { ClientH3Controller } from '../../src/http3/ClientH3Controller';
import { bindQuicSocket } from '../../src/socket/bindQuicSocket';
import type { NativeQuicSocket } from '../../src/socket/NativeUdpSocket';
import { startH3Server } from '../helpers/h3Loopback';

const linux = process.platform === 'linux';

/** One GET of `/`, resolving with the body's length. */
function get(controller: ClientH3Controller): Promise<number> {
  return lastValueFrom(
    controller.request({ ':method': 'GET', ':path': '/' }).pipe(
      switchMap((response) => response.body$),
      reduce((n, chunk) => n + chunk.length, 0),
    ),
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
        const controller = await new Promise<ClientH3Controller>((resolve, reject) =>
          connect$(socket, 'localhost', { peer: { address: '127.0.0.1', port: server.port }, insecureSkipVerify: true }).subscribe({
            next: ({ controller }) => resolve(controller),
            error: reject,
          }),
        );
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
});
