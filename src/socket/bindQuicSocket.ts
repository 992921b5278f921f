import { createSocket, type Socket } from 'node:dgram';

import { QuicError } from '../errors/QuicError';
import type { Metrics } from '../metrics/Metrics';
import { fromDgramSocket } from './fromDgramSocket';
import { type ClosableQuicSocket, createNativeUdpSocket } from './NativeUdpSocket';

/** Options of {@link bindQuicSocket}. */
export interface BindQuicSocketOptions {
  /** The IP address to bind to. Defaults to `127.0.0.1` (or `::1` when `address` is IPv6). */
  readonly address?: string;
  /** The UDP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /**
   * Whether to use the native Linux socket: `'auto'` (the default) when it binds, else
   * `node:dgram`; `'never'` always `node:dgram`; `'require'` the native one or an error.
   */
  readonly native?: 'auto' | 'never' | 'require';
  /** Where write errors are counted. */
  readonly metrics?: Metrics;
  /**
   * Where the native socket is read: `'loop'` (the default) on Node's event loop, `'thread'` on a
   * receive thread of its own. See `NativeUdpSocketOptions.receiveOn`. Ignored for `node:dgram`.
   */
  readonly receiveOn?: 'loop' | 'thread';
}

/**
 * Binds a UDP socket for QUIC: the native batched socket (GSO/GRO, Linux) when it is available,
 * a `node:dgram` one otherwise.
 *
 * <span class="informal">One call for the fastest socket this machine offers, with a clean
 * fallback.</span>
 *
 * With `native: 'auto'`, a native bind that fails (not Linux, an addon without it, a kernel that
 * refuses) falls back to `node:dgram` on the same address and port; a port that is taken fails
 * either way. Check `kind` to see which one you got. The returned socket is yours to `close()`.
 *
 * ## Example
 * ```ts
 * const socket = await bindQuicSocket({ address: '0.0.0.0', port: 4433 });
 * console.log(socket.kind, socket.capabilities);
 * listen$(socket, params).subscribe(...);
 * ```
 *
 * @param options Address, port and the native preference.
 * @returns The bound socket.
 * @throws QuicError `SocketError` when `native: 'require'` and the native socket cannot bind;
 * `InvalidArgument` for a port that is not an integer from 0 to 65535 (whatever `native` says:
 * `node:dgram` would bind such a port modulo 65536).
 */
export async function bindQuicSocket(options: BindQuicSocketOptions = {}): Promise<ClosableQuicSocket> {
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new QuicError('InvalidArgument', `bindQuicSocket: port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const mode = options.native ?? 'auto';
  if (mode !== 'never') {
    try {
      return createNativeUdpSocket(address, port, options.metrics, options.receiveOn ? { receiveOn: options.receiveOn } : {});
    } catch (error) {
      if (mode === 'require') throw error;
    }
  }
  const socket = await bindDgram(address, port);
  const quic = fromDgramSocket(socket, options.metrics);
  let closed = false;
  const closable: ClosableQuicSocket = {
    ...quic,
    kind: 'dgram',
    close(): void {
      if (closed) return;
      closed = true;
      socket.close();
    },
    ref() {
      socket.ref();
      return closable;
    },
    unref() {
      socket.unref();
      return closable;
    },
  };
  return closable;
}

function bindDgram(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}
