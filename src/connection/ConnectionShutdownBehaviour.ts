/**
 * How to close a connection: tokio-quiche's `ConnectionShutdownBehaviour`.
 *
 * If an application close is asked for before the handshake completes, quiche sends a transport
 * close with APPLICATION_ERROR (0xc) and an empty reason instead, as RFC 9000 §10.2.3 requires.
 */
export interface ConnectionShutdownBehaviour {
  /** Send an application CONNECTION_CLOSE (true) or a transport one (false). */
  readonly sendApplicationClose: boolean;
  /** The error code to send. */
  readonly errorCode: number;
  /** The reason phrase. Defaults to empty. */
  readonly reason?: string | Uint8Array;
}

/** A clean application close: NO_ERROR (0), no reason. What unsubscribing from a connection sends. */
export const GRACEFUL_SHUTDOWN: ConnectionShutdownBehaviour = Object.freeze({
  sendApplicationClose: true,
  errorCode: 0,
  reason: '',
});
