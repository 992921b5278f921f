import { registerErrorClass } from './brand';
import type { QuicErrorCode } from './codes';
import { QuicError, type QuicErrorOptions } from './QuicError';
import { transportErrorName } from './wireCodes';

/**
 * What a CONNECTION_CLOSE said, for {@link QuicTransportError}.
 */
export interface QuicTransportErrorInit extends QuicErrorOptions {
  /** `true` for an application close (frame type 0x1d), `false` for a transport close (0x1c). */
  isApplication: boolean;
  /** The error code of the frame: a transport error code, or the application's own code. */
  errorCode: number;
  /** The reason phrase of the frame, decoded as UTF-8. Defaults to `''`. */
  reason?: string;
  /** `true` when the peer sent the frame, `false` when this endpoint did. */
  fromPeer: boolean;
  /**
   * The stable code. Defaults to `'ApplicationError'` for an application close and to
   * `'ConnectionClosed'` for a transport close; the native layer may pass a more precise one
   * (such as `'TlsFail'`) when a local failure caused the close.
   */
  code?: QuicErrorCode;
  /** A sentence for people. Defaults to one built from the other fields. */
  message?: string;
}

/**
 * The connection was closed by a CONNECTION_CLOSE frame, sent by the peer or by this endpoint.
 *
 * Every stream of the connection is gone; a caller may open a new connection and retry.
 * The frame's fields are kept as they were on the wire: {@link QuicTransportError.errorCode} is a
 * transport error code when {@link QuicTransportError.isApplication} is `false` (name it with
 * `transportErrorName`), and the application's own code otherwise (for HTTP/3, name it with
 * `h3ErrorName`).
 *
 * ## Example
 * ```ts
 * if (err instanceof QuicTransportError && err.fromPeer && !err.isApplication) {
 *   console.warn('peer closed with', transportErrorName(err.errorCode), err.reason);
 * }
 * ```
 */
export class QuicTransportError extends QuicError {
  /** `true` for an application close (frame type 0x1d), `false` for a transport close (0x1c). */
  readonly isApplication: boolean;
  /** The error code of the frame; its meaning depends on {@link QuicTransportError.isApplication}. */
  readonly errorCode: number;
  /** The reason phrase of the frame; `''` when there was none. */
  readonly reason: string;
  /** `true` when the peer sent the frame, `false` when this endpoint did. */
  readonly fromPeer: boolean;

  /**
   * @param init The fields of the CONNECTION_CLOSE frame, plus an optional code, message and cause.
   */
  constructor(init: QuicTransportErrorInit) {
    const reason = init.reason ?? '';
    super(
      init.code ?? (init.isApplication ? 'ApplicationError' : 'ConnectionClosed'),
      init.message ?? describeClose(init.isApplication, init.errorCode, reason, init.fromPeer),
      init,
    );
    this.isApplication = init.isApplication;
    this.errorCode = init.errorCode;
    this.reason = reason;
    this.fromPeer = init.fromPeer;
  }
}

registerErrorClass(QuicTransportError, 'QuicTransportError');

/**
 * Builds the default message, e.g. `peer closed the connection: FLOW_CONTROL_ERROR (0x3): too much data`.
 */
function describeClose(isApplication: boolean, errorCode: number, reason: string, fromPeer: boolean): string {
  const who = fromPeer ? 'peer' : 'local endpoint';
  const what = isApplication
    ? `application error ${formatCode(errorCode)}`
    : `${transportErrorName(errorCode)} (${formatCode(errorCode)})`;
  return `${who} closed the connection: ${what}${reason === '' ? '' : `: ${reason}`}`;
}

function formatCode(code: number): string {
  return Number.isSafeInteger(code) && code >= 0 ? `0x${code.toString(16)}` : String(code);
}

/**
 * Tells whether `value` is a {@link QuicTransportError} (from any copy of this package).
 *
 * @param value Any value, typically a caught error.
 * @returns `true` when `value instanceof QuicTransportError`.
 */
export function isQuicTransportError(value: unknown): value is QuicTransportError {
  return value instanceof QuicTransportError;
}
