import { registerErrorClass } from './brand';
import type { H3ErrorName } from './codes';
import { QuicError, type QuicErrorOptions } from './QuicError';
import { h3ErrorName } from './wireCodes';

/**
 * Options of an {@link Http3Error}.
 */
export interface Http3ErrorOptions extends QuicErrorOptions {
  /** The HTTP/3 error code on the wire (e.g. `0x107` for `H3_EXCESSIVE_LOAD`), when one was sent or received. */
  wireCode?: number;
  /** A sentence for people. Defaults to one that names the code. */
  message?: string;
}

/**
 * An HTTP/3 error: the peer broke the HTTP/3 or QPACK rules, or the HTTP/3 layer hit a limit.
 *
 * The {@link Http3Error.code} is the name of the `quiche::h3::Error` variant (`'ExcessiveLoad'`,
 * `'FrameUnexpected'`, …), and {@link Http3Error.wireCode} the number sent or received on the
 * wire, if any (name it with `h3ErrorName`). An HTTP/3 error ends the HTTP/3 connection, so a
 * caller fails the requests in flight on it; a failure of one request stream is a
 * {@link QuicStreamError} instead.
 *
 * ## Example
 * ```ts
 * if (err instanceof Http3Error && err.code === 'ExcessiveLoad') backOff();
 * ```
 */
export class Http3Error extends QuicError {
  /** The stable code: the name of the `quiche::h3::Error` variant; see {@link H3ErrorName}. */
  declare readonly code: H3ErrorName;
  /** The HTTP/3 error code on the wire, or `undefined` when none was sent or received. */
  readonly wireCode: number | undefined;

  /**
   * @param code The name of the HTTP/3 error.
   * @param options The wire code if any, an optional message, and the `cause`.
   */
  constructor(code: H3ErrorName, options: Http3ErrorOptions = {}) {
    super(code, options.message ?? describeHttp3Error(code, options.wireCode), options);
    this.wireCode = options.wireCode;
  }
}

registerErrorClass(Http3Error, 'Http3Error');

function describeHttp3Error(code: H3ErrorName, wireCode: number | undefined): string {
  return wireCode === undefined ? `HTTP/3 error ${code}` : `HTTP/3 error ${code} (${h3ErrorName(wireCode)})`;
}

/**
 * Tells whether `value` is an {@link Http3Error} (from any copy of this package).
 *
 * @param value Any value, typically a caught error.
 * @returns `true` when `value instanceof Http3Error`.
 */
export function isHttp3Error(value: unknown): value is Http3Error {
  return value instanceof Http3Error;
}
