/**
 * The names of quiche's transport errors (`quiche::Error`), in quiche's order.
 *
 * `Done` is missing on purpose: it is an expected outcome ("nothing more to do"), which the native
 * layer turns into `null`, never into an error.
 */
export const QUICHE_ERROR_NAMES = [
  'BufferTooShort',
  'UnknownVersion',
  'InvalidFrame',
  'InvalidPacket',
  'InvalidState',
  'InvalidStreamState',
  'InvalidTransportParam',
  'CryptoFail',
  'TlsFail',
  'FlowControl',
  'StreamLimit',
  'StreamStopped',
  'StreamReset',
  'FinalSize',
  'CongestionControl',
  'IdLimit',
  'OutOfIdentifiers',
  'KeyUpdate',
  'CryptoBufferExceeded',
  'InvalidAckRange',
  'OptimisticAckDetected',
  'InvalidDcidInitialization',
] as const;

/**
 * The names of quiche's HTTP/3 errors (`quiche::h3::Error`), in quiche's order.
 *
 * `Done` is missing for the same reason as in {@link QUICHE_ERROR_NAMES}. `BufferTooShort` is
 * listed there already, and `TransportError(e)` is reported with the name of the wrapped
 * transport error `e`.
 */
export const H3_ERROR_NAMES = [
  'InternalError',
  'ExcessiveLoad',
  'IdError',
  'StreamCreationError',
  'ClosedCriticalStream',
  'MissingSettings',
  'FrameUnexpected',
  'FrameError',
  'QpackDecompressionFailed',
  'StreamBlocked',
  'SettingsError',
  'RequestRejected',
  'RequestCancelled',
  'RequestIncomplete',
  'MessageError',
  'ConnectError',
  'VersionFallback',
] as const;

/**
 * The codes rxjs-quiche adds for failures that are not quiche's.
 *
 * - `InvalidArgument`: a caller passed a value the API cannot use.
 * - `ConnectionClosed`: the connection closed (with a transport error code) while work was pending.
 * - `InvalidPem`: a certificate or key is not valid PEM.
 * - `CertificateFile`: a certificate or key file cannot be read.
 * - `InvalidSetting`: a setting is out of range or contradicts another one.
 * - `HandshakeTimeout`: the handshake did not complete in time.
 * - `HandshakeConnectionClosed`: the connection closed before the handshake completed.
 * - `ApplicationError`: the connection closed with an application error code.
 * - `SocketError`: the UDP socket failed.
 * - `BodyOverflow`: a body given as an Observable pushed more than its backlog allows ahead of
 *   what the peer has taken (an Observable cannot be paused; give an AsyncIterable to be paced).
 */
export const OWN_ERROR_CODES = [
  'InvalidArgument',
  'ConnectionClosed',
  'InvalidPem',
  'CertificateFile',
  'InvalidSetting',
  'HandshakeTimeout',
  'HandshakeConnectionClosed',
  'ApplicationError',
  'SocketError',
  'BodyOverflow',
] as const;

/** The name of a quiche transport error, such as `'StreamReset'`. */
export type QuicheErrorName = (typeof QUICHE_ERROR_NAMES)[number];

/** The name of a quiche HTTP/3 error, such as `'ExcessiveLoad'`. */
export type H3ErrorName = (typeof H3_ERROR_NAMES)[number];

/** A code rxjs-quiche adds for a failure that is not quiche's, such as `'HandshakeTimeout'`. */
export type OwnErrorCode = (typeof OWN_ERROR_CODES)[number];

/**
 * Every stable `code` a {@link QuicError} can carry.
 *
 * The quiche names are the variant names of `quiche::Error` and `quiche::h3::Error`, so an error
 * thrown by the native addon (whose `code` is that name) maps to a code without translation.
 * A code is never renamed or reused once released; new codes may be added.
 */
export type QuicErrorCode = QuicheErrorName | H3ErrorName | OwnErrorCode;

/** Every {@link QuicErrorCode}, quiche's transport names first, then HTTP/3, then our own. */
export const QUIC_ERROR_CODES: readonly QuicErrorCode[] = [
  ...QUICHE_ERROR_NAMES,
  ...H3_ERROR_NAMES,
  ...OWN_ERROR_CODES,
];

// A lookup for the guard below; built once.
const knownCodes: ReadonlySet<string> = new Set(QUIC_ERROR_CODES);

/**
 * Tells whether `value` is one of the stable {@link QuicErrorCode}s.
 *
 * ## Example
 * ```ts
 * const code = isQuicErrorCode(err.code) ? err.code : 'InvalidState';
 * ```
 * @param value Any value, typically the `code` of an error thrown by the native addon.
 * @returns `true` when `value` is a string listed in {@link QUIC_ERROR_CODES}.
 */
export function isQuicErrorCode(value: unknown): value is QuicErrorCode {
  return typeof value === 'string' && knownCodes.has(value);
}
