/**
 * QUIC transport error codes, as registered with IANA ("QUIC Transport Error Codes").
 *
 * See <https://www.rfc-editor.org/rfc/rfc9000.html#name-transport-error-codes> and, for
 * `VERSION_NEGOTIATION_ERROR`, <https://www.rfc-editor.org/rfc/rfc9368.html>.
 * The `CRYPTO_ERROR` range (0x100-0x1ff) is handled in {@link transportErrorName}.
 */
const TRANSPORT_ERROR_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'NO_ERROR'],
  [0x01, 'INTERNAL_ERROR'],
  [0x02, 'CONNECTION_REFUSED'],
  [0x03, 'FLOW_CONTROL_ERROR'],
  [0x04, 'STREAM_LIMIT_ERROR'],
  [0x05, 'STREAM_STATE_ERROR'],
  [0x06, 'FINAL_SIZE_ERROR'],
  [0x07, 'FRAME_ENCODING_ERROR'],
  [0x08, 'TRANSPORT_PARAMETER_ERROR'],
  [0x09, 'CONNECTION_ID_LIMIT_ERROR'],
  [0x0a, 'PROTOCOL_VIOLATION'],
  [0x0b, 'INVALID_TOKEN'],
  [0x0c, 'APPLICATION_ERROR'],
  [0x0d, 'CRYPTO_BUFFER_EXCEEDED'],
  [0x0e, 'KEY_UPDATE_ERROR'],
  [0x0f, 'AEAD_LIMIT_REACHED'],
  [0x10, 'NO_VIABLE_PATH'],
  [0x11, 'VERSION_NEGOTIATION_ERROR'],
]);

/**
 * HTTP/3 and QPACK error codes, as registered with IANA ("HTTP/3 Error Codes").
 *
 * See <https://www.rfc-editor.org/rfc/rfc9114.html#name-http-3-error-codes> and
 * <https://www.rfc-editor.org/rfc/rfc9204.html#name-error-handling>.
 */
const H3_ERROR_NAMES: ReadonlyMap<number, string> = new Map([
  [0x100, 'H3_NO_ERROR'],
  [0x101, 'H3_GENERAL_PROTOCOL_ERROR'],
  [0x102, 'H3_INTERNAL_ERROR'],
  [0x103, 'H3_STREAM_CREATION_ERROR'],
  [0x104, 'H3_CLOSED_CRITICAL_STREAM'],
  [0x105, 'H3_FRAME_UNEXPECTED'],
  [0x106, 'H3_FRAME_ERROR'],
  [0x107, 'H3_EXCESSIVE_LOAD'],
  [0x108, 'H3_ID_ERROR'],
  [0x109, 'H3_SETTINGS_ERROR'],
  [0x10a, 'H3_MISSING_SETTINGS'],
  [0x10b, 'H3_REQUEST_REJECTED'],
  [0x10c, 'H3_REQUEST_CANCELLED'],
  [0x10d, 'H3_REQUEST_INCOMPLETE'],
  [0x10e, 'H3_MESSAGE_ERROR'],
  [0x10f, 'H3_CONNECT_ERROR'],
  [0x110, 'H3_VERSION_FALLBACK'],
  [0x200, 'QPACK_DECOMPRESSION_FAILED'],
  [0x201, 'QPACK_ENCODER_STREAM_ERROR'],
  [0x202, 'QPACK_DECODER_STREAM_ERROR'],
]);

// The CRYPTO_ERROR range: 0x100 plus a TLS alert number.
const CRYPTO_ERROR_FIRST = 0x100;
const CRYPTO_ERROR_LAST = 0x1ff;

/**
 * Formats a code that has no registered name, e.g. `0x1f2a`.
 */
function hex(code: number): string {
  return Number.isSafeInteger(code) && code >= 0 ? `0x${code.toString(16)}` : String(code);
}

/**
 * Names a QUIC transport error code, as sent in a CONNECTION_CLOSE frame of type 0x1c.
 *
 * ## Example
 * ```ts
 * transportErrorName(0x3);   // 'FLOW_CONTROL_ERROR'
 * transportErrorName(0x12a); // 'CRYPTO_ERROR' (TLS alert 42, bad_certificate)
 * ```
 * @see {@link h3ErrorName} for application error codes of HTTP/3 connections.
 * @param code The error code from the wire.
 * @returns The IANA name (`NO_ERROR` … `VERSION_NEGOTIATION_ERROR`), `CRYPTO_ERROR` for 0x100-0x1ff,
 * or the code in hexadecimal (`0x1234`) when it is not registered.
 */
export function transportErrorName(code: number): string {
  if (code >= CRYPTO_ERROR_FIRST && code <= CRYPTO_ERROR_LAST && Number.isInteger(code)) {
    return 'CRYPTO_ERROR';
  }
  return TRANSPORT_ERROR_NAMES.get(code) ?? hex(code);
}

/**
 * Names an HTTP/3 (or QPACK) error code, as sent in a CONNECTION_CLOSE frame of type 0x1d,
 * a RESET_STREAM or a STOP_SENDING on an HTTP/3 connection.
 *
 * ## Example
 * ```ts
 * h3ErrorName(0x10c); // 'H3_REQUEST_CANCELLED'
 * h3ErrorName(0x21);  // '0x21' (a reserved "grease" code has no name)
 * ```
 * @see {@link transportErrorName} for transport error codes.
 * @param code The application error code from the wire.
 * @returns The IANA name (`H3_NO_ERROR` … `H3_VERSION_FALLBACK`, `QPACK_*`), or the code in
 * hexadecimal (`0x1234`) when it is not registered.
 */
export function h3ErrorName(code: number): string {
  return H3_ERROR_NAMES.get(code) ?? hex(code);
}
