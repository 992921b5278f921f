/**
 * Why the router or acceptor turned a datagram away: tokio-quiche's `QuicInvalidInitialPacketError`
 * plus the router's own reasons.
 */
export type RejectedPacketReason =
  | 'failedToParse'
  | 'wrongType'
  | 'unknownConnectionId'
  | 'tokenValidationFail'
  | 'acceptQueueOverflow'
  | 'connectionQueueFull'
  | 'notAccepting'
  | 'unexpected';

/** Why a handshake failed: tokio-quiche's `labels::HandshakeError`. */
export type HandshakeFailureReason = 'cryptoFail' | 'tlsFail' | 'timeout' | 'disconnect' | 'other';

/**
 * What rxjs-quiche counts: tokio-quiche's `Metrics` trait, without a metrics library.
 *
 * Pass your own to `listen$()` / `connectWithConfig$()` to export the numbers elsewhere
 * (Prometheus, OpenTelemetry); {@link DefaultMetrics} keeps them in memory. Every method is called
 * synchronously on the hot path, so implementations must be cheap and must not throw.
 */
export interface Metrics {
  /** A connection was created (accepted or dialled); paired with {@link connectionClosed}. */
  connectionOpened(): void;
  /** A connection finished its close stage. */
  connectionClosed(): void;
  /** An Initial was accepted and became an `InitialQuicConnection`. */
  acceptedInitialPacket(): void;
  /** A datagram was dropped before reaching a connection. */
  rejectedPacket(reason: RejectedPacketReason): void;
  /** A handshake failed. */
  failedHandshake(reason: HandshakeFailureReason): void;
  /** A write to the socket failed (the datagram is lost; QUIC recovers). */
  writeError(): void;
  /**
   * A packet was held back because sending it would take a server past three times what its
   * not-yet-validated client sent (RFC 9000 §8.1); quiche sends it again later. Optional.
   */
  amplificationLimitHit?(): void;
  /** A Retry was sent. */
  retrySent(): void;
  /** A version negotiation packet was sent. */
  versionNegotiationSent(): void;
}
