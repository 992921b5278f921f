import { lastValueFrom, type Observable, reduce, type Subscription, switchMap } from 'rxjs';

import type { ClientH3Connection } from '../../src/http3/ClientH3Connection';
import { connect$ } from '../../src/http3/connect';
import type { ServerH3Connection } from '../../src/http3/ServerH3Connection';
import { serveHttp3 } from '../../src/http3/serveHttp3';
import { listen$ } from '../../src/router/listen';
import { bindQuicSocket } from '../../src/socket/bindQuicSocket';
import type { ClosableQuicSocket } from '../../src/socket/NativeUdpSocket';
import { connectH3, h3Certificates, h3ServerParams, startH3Server } from '../helpers/h3Loopback';
import { within } from '../helpers/loopback';

const linux = process.platform === 'linux';

function bodyText(body$: Observable<Uint8Array>): Promise<string> {
  return lastValueFrom(body$.pipe(reduce((s, chunk) => s + Buffer.from(chunk).toString(), '')));
}

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
    const accepted: ServerH3Connection[] = [];
    const served = listen$(socket, h3ServerParams({ disableClientIpValidation: !retry, maxIdleTimeout: 5000 }))
      .pipe(serveHttp3(() => ({ status: 200, body: Buffer.from('from a wildcard socket') })))
      .subscribe((c) => accepted.push(c));
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
      // The server's connection names the address the client dialled, as its socket family does.
      const dialled = address === '::' ? '::ffff:127.0.0.2' : '127.0.0.2';
      expect(accepted).toHaveLength(1);
      expect(accepted[0]!.connection.localAddr).toEqual({ address: dialled, port: socket.localAddress.port, family: address === '::' ? 'IPv6' : 'IPv4' });
    } finally {
      client.close();
      served.unsubscribe();
      socket.close();
    }
  });
});

/**
 * A client on a socket bound to a wildcard address: its connection's path must name both ends as
 * the socket reports them on the answers (the address the routes pick, an IPv4 server IPv4-mapped
 * on a dual-stack socket), or quiche drops every answer as coming from an unknown path.
 */
describe('a client bound to a wildcard address', () => {
  const cases: Array<[string, 'require' | 'never', string]> = [
    ['0.0.0.0', 'never', '0.0.0.0'],
    ['::', 'never', '::'],
    ...(linux
      ? ([
          ['0.0.0.0', 'require', '127.0.0.1'],
          ['::', 'require', '::ffff:127.0.0.1'],
        ] as Array<[string, 'require' | 'never', string]>)
      : []),
  ];
  it.each(cases)('bound to %s (native: %s) reaches an IPv4 server, its local end %s', async (address, native, local) => {
    const server = await startH3Server(() => ({ status: 200, body: Buffer.from('hello, wildcard client') }));
    let socket: ClosableQuicSocket;
    try {
      socket = await bindQuicSocket({ address, port: 0, native });
    } catch {
      server.close();
      expect(address).toBe('::'); // a host without IPv6
      return;
    }
    const peer = { address: '127.0.0.1', port: server.port };
    let subscription: Subscription | undefined;
    try {
      const conn = await within(
        new Promise<ClientH3Connection>((resolve, reject) => {
          subscription = connect$(socket, 'localhost', { trust: { ca: h3Certificates().ca }, peer }).subscribe({ next: resolve, error: reject });
        }),
        5000,
        'the handshake',
      );
      const body = await within(
        bodyText(conn.controller.request({ ':method': 'GET', ':path': '/' }).pipe(switchMap((r) => r.body$))),
        5000,
        'the response',
      );
      expect(body).toBe('hello, wildcard client');
      expect(conn.connection.localAddr).toEqual({ address: local, port: socket.localAddress.port, family: address === '::' ? 'IPv6' : 'IPv4' });
      expect(conn.connection.peerAddr).toEqual(address === '::' ? { address: '::ffff:127.0.0.1', port: server.port, family: 'IPv6' } : peer);
    } finally {
      subscription?.unsubscribe();
      socket.close();
      server.close();
    }
  });
});
