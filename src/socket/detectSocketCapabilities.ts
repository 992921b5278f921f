import { napi } from '../native/binding';
import type { SocketCapabilities } from './SocketCapabilities';

/**
 * Asks the kernel what a UDP socket could do on this machine: GSO (UDP_SEGMENT), GRO (UDP_GRO),
 * pacing (SO_TXTIME), drop counts (SO_RXQ_OVFL), `recvmmsg`/`sendmmsg` and packet info (IP_PKTINFO).
 *
 * A throwaway socket of the family is probed, so the answer is known before any socket is bound.
 * It says what the platform offers; a `node:dgram` socket uses none of it (its
 * {@link QuicSocket.capabilities} are {@link NO_CAPABILITIES}). Everything is `false` off Linux.
 *
 * ## Example
 * ```ts
 * const caps = detectSocketCapabilities();
 * if (!caps.gso) console.warn('no UDP GSO: sends cost one system call per datagram');
 * ```
 *
 * @param family `'udp4'` or `'udp6'`. Defaults to `'udp4'`.
 * @returns What the kernel accepted.
 */
export function detectSocketCapabilities(family: 'udp4' | 'udp6' = 'udp4'): SocketCapabilities {
  const probe = napi.probeSocketCapabilities(family === 'udp6');
  return Object.freeze({
    gso: probe.gso,
    gro: probe.gro,
    txtime: probe.txtime,
    checkUdpDrop: probe.checkUdpDrop,
    mmsg: probe.mmsg,
    pktinfo: probe.pktinfo,
  });
}
