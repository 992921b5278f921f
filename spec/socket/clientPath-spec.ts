import { EMPTY } from 'rxjs';

import { clientPath } from '../../src/socket/clientPath';
import type { SocketAddress } from '../../src/socket/Incoming';
import type { QuicSocket } from '../../src/socket/QuicSocket';
import { NO_CAPABILITIES } from '../../src/socket/SocketCapabilities';

function socketAt(localAddress: SocketAddress, localAddressFor?: (peer: SocketAddress) => SocketAddress): QuicSocket {
  return {
    incoming$: EMPTY,
    sender: { sendBatch: () => undefined, sendTo: () => undefined, gso: false },
    localAddress,
    capabilities: NO_CAPABILITIES,
    ...(localAddressFor ? { localAddressFor } : {}),
  };
}

describe('clientPath', () => {
  it('keeps the bound address and the peer on a socket of the peer’s family', () => {
    const local = { address: '127.0.0.1', port: 5000, family: 'IPv4' };
    const peer = { address: '127.0.0.2', port: 443 };
    expect(clientPath(socketAt(local), peer)).toEqual({ local, peer });
  });

  it('names an IPv4 peer IPv4-mapped on an IPv6 socket, as the socket reports its answers', () => {
    const local = { address: '::', port: 5000, family: 'IPv6' };
    expect(clientPath(socketAt(local), { address: '192.0.2.1', port: 443 }).peer).toEqual({ address: '::ffff:192.0.2.1', port: 443, family: 'IPv6' });
    // An IPv6 peer, or one already mapped, stays as it is.
    expect(clientPath(socketAt(local), { address: '::1', port: 443 }).peer).toEqual({ address: '::1', port: 443 });
    expect(clientPath(socketAt(local), { address: '::ffff:192.0.2.1', port: 443 }).peer).toEqual({ address: '::ffff:192.0.2.1', port: 443 });
  });

  it('asks the socket for its local end where it can tell one peer from another', () => {
    const asked: SocketAddress[] = [];
    const socket = socketAt({ address: '::', port: 5000, family: 'IPv6' }, (peer) => {
      asked.push(peer);
      return { address: '::ffff:10.0.0.7', port: 5000, family: 'IPv6' };
    });
    expect(clientPath(socket, { address: '192.0.2.1', port: 443 }).local).toEqual({ address: '::ffff:10.0.0.7', port: 5000, family: 'IPv6' });
    // It is asked about the peer as it will name it.
    expect(asked).toEqual([{ address: '::ffff:192.0.2.1', port: 443, family: 'IPv6' }]);
  });
});
