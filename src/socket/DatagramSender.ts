import type { napi } from '../native/binding';

/**
 * The shared send half of a UDP socket: every connection on the socket flushes through it.
 *
 * tokio-quiche's `DatagramSocketSend`. Implementations copy what they need before returning, so the
 * caller may reuse `out` at once; a send error is counted, never thrown (a lost datagram is QUIC's
 * ordinary business, and one failed write must not close a connection).
 */
export interface DatagramSender {
  /**
   * Sends the packets of one `send()` batch: `batch.count` packets laid back to back in `out`, with
   * their lengths in `lengths`, all to `batch.to`.
   */
  sendBatch(out: Uint8Array, lengths: Uint32Array, batch: napi.SendBatch): void;
  /**
   * Sends one datagram (a Retry or version negotiation reply) to `to`.
   */
  sendTo(datagram: Uint8Array, to: napi.SocketAddress): void;
  /** Whether one `sendBatch` call can hand the kernel a GSO batch (equal-sized packets). */
  readonly gso: boolean;
  /**
   * Sends what `conn` (a native connection) has ready straight from quiche to the socket, at most `maxPackets` packets,
   * in one native call (the native socket's fast path). The worker falls back to `conn.send()` and
   * {@link sendBatch} when a sender lacks it or it returns `null` (a connection it cannot drive).
   *
   * @returns Whether `maxPackets` was reached with more possibly ready; `null` when not handled.
   * @throws What `conn.send()` throws: quiche failing internally.
   */
  flushConnection?(conn: object, maxPackets: number): boolean | null;
}
