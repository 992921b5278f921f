import { lastValueFrom, reduce, switchMap } from 'rxjs';

import { serveHttp3 } from '../../src/http3/serveHttp3';
import { listen$ } from '../../src/router/listen';
import { bindQuicSocket } from '../../src/socket/bindQuicSocket';
import type { ClosableQuicSocket } from '../../src/socket/NativeUdpSocket';
import { connectH3, h3ServerParams } from '../helpers/h3Loopback';
import { within } from '../helpers/loopback';

const linux = process.platform === 'linux';

/**
 * A server bound to a wildcard address serves clients that dialled any of the host's addresses.
 * Loopback has many (127.0.0.0/8); routing alone answers every client from 127.0.0.1, and a client
 * that dialled 127.0.0.2 does not recognize that peer: its handshake times out.
 */
(linux ? describe : describe.skip)('a server bound to a wildcard address (native socket)', () => {
  it.each([
    ['0.0.0.0', false],
    ['0.0.0.0', true],
    ['::', false],
    ['::', true],
  ])('bound to %s (Retry: %s), answers a client that dialled 127.0.0.2 from 127.0.0.2', async (address, retry) => {
    let socket: ClosableQuicSocket;
    try {
      socket = await bindQuicSocket({ address, port: 0, native: 'require' });
    } catch {
      expect(address).toBe('::'); // a host without IPv6
      return;
    }
    const served = listen$(socket, h3ServerParams({ disableClientIpValidation: !retry, maxIdleTimeout: 5000 }))
      .pipe(serveHttp3(() => ({ status: 200, body: Buffer.from('from a wildcard socket') })))
      .subscribe();
    const client = await within(connectH3(socket.localAddress.port, { peer: { address: '127.0.0.2', port: socket.localAddress.port } }), 5000, 'the handshake');
    try {
      const body = await within(
        lastValueFrom(
          client.conn.controller.request({ ':method': 'GET', ':path': '/' }).pipe(
            switchMap((r) => r.body$),
            reduce((s, chunk) => s + Buffer.from(chunk).toString(), ''),
          ),
        ),
        5000,
        'the response',
      );
      expect(body).toBe('from a wildcard socket');
      expect(socket.capabilities.pktinfo).toBe(true);
    } finally {
      client.close();
      served.unsubscribe();
      socket.close();
    }
  });
});
