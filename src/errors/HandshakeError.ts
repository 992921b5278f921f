import { registerErrorClass } from './brand';
import { QuicError, type QuicErrorOptions } from './QuicError';

/**
 * The codes of {@link HandshakeError}, after tokio-quiche's `HandshakeError::{Timeout, ConnectionClosed}`.
 *
 * - `HandshakeTimeout`: the handshake did not complete within the configured time.
 * - `HandshakeConnectionClosed`: the connection closed before the handshake completed.
 */
export type HandshakeErrorCode = 'HandshakeTimeout' | 'HandshakeConnectionClosed';

/**
 * Options of a {@link HandshakeError}.
 */
export interface HandshakeErrorOptions extends QuicErrorOptions {
  /** A sentence for people. Defaults to one that names the code. */
  message?: string;
}

/**
 * The handshake failed: no connection was established, so nothing was sent on it yet.
 *
 * A client may retry the connection (with backoff); a server just drops the attempt. When the
 * close came with a CONNECTION_CLOSE frame, the {@link QuicTransportError} is the `cause`.
 *
 * ## Example
 * ```ts
 * connect$.pipe(retry({ count: 3, delay: (err) => (err instanceof HandshakeError ? timer(1_000) : throwError(() => err)) }));
 * ```
 */
export class HandshakeError extends QuicError {
  /** The stable code; see {@link HandshakeErrorCode}. */
  declare readonly code: HandshakeErrorCode;

  /**
   * @param code Which handshake failure this is.
   * @param options An optional message, and the `cause` (e.g. the {@link QuicTransportError}).
   */
  constructor(code: HandshakeErrorCode, options: HandshakeErrorOptions = {}) {
    super(code, options.message ?? describeHandshakeError(code), options);
  }
}

registerErrorClass(HandshakeError, 'HandshakeError');

function describeHandshakeError(code: HandshakeErrorCode): string {
  switch (code) {
    case 'HandshakeTimeout':
      return 'the QUIC handshake timed out';
    case 'HandshakeConnectionClosed':
      return 'the connection closed before the QUIC handshake completed';
  }
}

/**
 * Tells whether `value` is a {@link HandshakeError} (from any copy of this package).
 *
 * @param value Any value, typically a caught error.
 * @returns `true` when `value instanceof HandshakeError`.
 */
export function isHandshakeError(value: unknown): value is HandshakeError {
  return value instanceof HandshakeError;
}
