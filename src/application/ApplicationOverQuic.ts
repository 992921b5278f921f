import type { ObservableInput } from 'rxjs';

import type { ConnectionShutdownBehaviour } from '../connection/ConnectionShutdownBehaviour';
import type { HandshakeInfo } from '../connection/HandshakeInfo';
import type { QuicError } from '../errors/QuicError';
import type { Metrics } from '../metrics/Metrics';
import type { QuicheConnection } from '../native/binding';

/**
 * How a connection ended, as {@link ApplicationOverQuic.onConnClose} sees it: `ok` unless the
 * worker failed (a protocol error, a handshake failure, an application callback that threw, a
 * CONNECTION_CLOSE with an error from the peer).
 */
export type ConnectionResult = { readonly ok: true } | { readonly ok: false; readonly error: QuicError };

/**
 * A protocol that runs over a QUIC connection: tokio-quiche's `ApplicationOverQuic`, with the same
 * callbacks and the same order.
 *
 * The connection's worker calls these from its loop: after every step that received packets,
 * `processReads`; then, once established, `processWrites`; then it flushes what quiche has to send.
 * Between steps it waits for the first of: a packet, quiche's timer, or the Observable returned by
 * `waitForData`. Every callback runs synchronously on the worker's turn, so none may block.
 *
 * The HTTP/3 driver is one; write your own for a raw QUIC protocol, and plug it into a connection
 * with `iqc.start(app)` or into a listener with {@link applicationOverQuic}.
 *
 * # Errors
 * A callback that throws ends the worker loop: the connection is closed with a transport
 * INTERNAL_ERROR (unless it was already closing), `onConnClose` sees the error, and the
 * connection's Observable errors with it. Other connections are untouched.
 *
 * @typeParam C The connection type: the native {@link QuicheConnection}, or a fake in marble specs.
 */
export interface ApplicationOverQuic<C = QuicheConnection> {
  /**
   * Called once, when the handshake completes, or as soon as a server is in 0-RTT early data.
   * Runs whatever `shouldAct()` says.
   */
  onConnEstablished(qconn: C, handshakeInfo: HandshakeInfo): void;

  /**
   * Whether the application is ready. While `false`, the worker neither calls `processReads`,
   * `processWrites` or `waitForData`, nor `onConnClose`; it only drives quiche.
   */
  shouldAct(): boolean;

  /**
   * Returns an Observable (or Promise) that emits once when the application has work: a command,
   * data to write. The worker races it with packets and timers and calls this again after every
   * step; it unsubscribes from what it had and subscribes to the new one, so it is cancel-safe by
   * construction: keep state in the application, not in the Observable. One exception saves a
   * resubscription per step: when this returns the same `Subject` as last time and that
   * subscription is still open, the worker keeps it (a hot Subject's next value is the same
   * either way).
   */
  waitForData(qconn: C): ObservableInput<unknown>;

  /**
   * Reads what quiche received: readable streams, datagrams. Called after every step that fed
   * quiche a packet, and once unconditionally when the application starts, so data received
   * during the handshake (0-RTT) is not lost.
   *
   * Returns `false` when nothing reached the application's user (the packets only acknowledged
   * data or opened flow control): the worker then flushes at once, so a sender whose congestion
   * window an ACK just opened sends without waiting for the end of the event loop's turn. Any other
   * return (the default, `undefined`) keeps the flush at the end of the turn, where what the user
   * does in reaction leaves in the same datagram as the ACK.
   */
  processReads(qconn: C): boolean | void;

  /**
   * Writes what the application has for quiche. Called on every step once the connection is
   * established (not during early data), right before the flush.
   */
  processWrites(qconn: C): void;

  /**
   * How to close the connection when its Observable is unsubscribed while it runs: the protocol's
   * clean close (HTTP/3's is an application close with H3_NO_ERROR, 0x100). Read once, at that
   * moment. Defaults to {@link GRACEFUL_SHUTDOWN} (an application close with code 0).
   */
  readonly shutdownBehaviour?: ConnectionShutdownBehaviour;

  /**
   * Called once when the connection closes, before the final CONNECTION_CLOSE is flushed, and only
   * if `shouldAct()`. Defaults to doing nothing.
   */
  onConnClose?(qconn: C, metrics: Metrics, result: ConnectionResult): void;
}
