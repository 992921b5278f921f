import type { napi } from '../native/binding';

/**
 * An IP address and UDP port, in `node:dgram`'s shape (`rinfo`, `socket.address()`).
 */
export type SocketAddress = napi.SocketAddress;

/**
 * One datagram received on a UDP socket, or a GRO batch of them: tokio-quiche's `Incoming`.
 *
 * With `gro` set, `buf` holds several datagrams of `gro` bytes each, back to back (the last one may
 * be shorter), all from the same peer to the same local address.
 */
export interface Incoming {
  /** The datagram bytes; the router and quiche read them in place. */
  readonly buf: Uint8Array;
  /** Who sent it. */
  readonly peer: SocketAddress;
  /**
   * The local address it arrived on: the bound address, or on a native socket bound to a wildcard
   * address (`0.0.0.0`, `::`) the one the peer sent to (IPv4-mapped on a dual-stack socket).
   */
  readonly local: SocketAddress;
  /** When it was received, in milliseconds (`performance.now()` or the scheduler's `now()`). */
  readonly rxTime: number;
  /** The GRO segment size when `buf` is a batch; absent for one datagram. */
  readonly gro?: number;
}
