/**
 * What a socket can do beyond plain `sendto`/`recvfrom`: tokio-quiche's `SocketCapabilities`.
 *
 * `node:dgram` sockets have none of these; the native batched socket (Linux) reports what the
 * kernel accepted when it tried each option. The worker and router read them to choose their
 * paths (GSO batches, GRO receive, pacing), and fall back cleanly when one is missing.
 */
export interface SocketCapabilities {
  /** UDP_SEGMENT: one `sendmsg` carries many equal-sized datagrams. */
  readonly gso: boolean;
  /** UDP_GRO: one receive returns many datagrams from one peer. */
  readonly gro: boolean;
  /** SO_TXTIME: the kernel paces datagrams by a send time. */
  readonly txtime: boolean;
  /** SO_RXQ_OVFL: the kernel reports datagrams it dropped for a full receive queue. */
  readonly checkUdpDrop: boolean;
  /** `recvmmsg`/`sendmmsg`: many datagrams per system call. */
  readonly mmsg: boolean;
  /**
   * IP_PKTINFO / IPV6_RECVPKTINFO, used by a socket bound to a wildcard address (`0.0.0.0`, `::`):
   * it learns which of the host's addresses each peer sent to and answers that peer from it, so a
   * client that dialled any of the host's addresses recognizes the replies. Without it, replies
   * leave from the address the route prefers, and a client that dialled another one drops them.
   */
  readonly pktinfo: boolean;
}

/** The capabilities of a plain `node:dgram` socket: none. */
export const NO_CAPABILITIES: SocketCapabilities = Object.freeze({
  gso: false,
  gro: false,
  txtime: false,
  checkUdpDrop: false,
  mmsg: false,
  pktinfo: false,
});
