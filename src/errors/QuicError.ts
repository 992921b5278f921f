import { isInstanceOf, registerErrorClass } from './brand';
import type { QuicErrorCode } from './codes';

/**
 * Options every error of this package accepts.
 */
export interface QuicErrorOptions {
  /** The error this one wraps, e.g. the error thrown by the native addon. */
  cause?: unknown;
}

/**
 * The base class of every error rxjs-quiche emits or throws.
 *
 * Callers branch on {@link QuicError.code}, a stable string such as `'TlsFail'` or
 * `'HandshakeTimeout'`. Subclasses exist only where a caller handles the failure differently:
 * {@link QuicTransportError} (the connection closed), {@link QuicStreamError} (one stream failed),
 * {@link HandshakeError}, {@link QuicSettingsError} and {@link Http3Error}.
 *
 * `instanceof` works across two copies of the package (it checks a `Symbol.for` brand rather than
 * the prototype chain), as long as both copies are of compatible versions.
 *
 * ## Example
 * ```ts
 * conn$.subscribe({
 *   error: (err) => {
 *     if (err instanceof QuicError && err.code === 'TlsFail') retryWithoutClientCert();
 *   },
 * });
 * ```
 */
export class QuicError extends Error {
  /**
   * Checks the `rxjs-quiche.<ClassName>` brand instead of the prototype chain, so that an error
   * from another copy of the package still passes `instanceof`. Subclasses inherit this.
   *
   * @param value The left-hand side of `instanceof`.
   * @returns Whether `value` is an instance of this class, or of a copy of it.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isInstanceOf(this, value);
  }

  /** The stable machine-readable code of this error; see {@link QuicErrorCode}. */
  readonly code: QuicErrorCode;

  /**
   * @param code The stable code.
   * @param message A sentence for people; never parse it.
   * @param options `cause`: the underlying error, if any.
   */
  constructor(code: QuicErrorCode, message: string, options?: QuicErrorOptions) {
    // Hand `Error` only the `cause` (subclasses pass their whole init object), and only when it
    // was given, so an error without a cause has no `cause` property at all.
    super(message, options !== undefined && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
  }
}

registerErrorClass(QuicError, 'QuicError');

/**
 * Tells whether `value` is a {@link QuicError} (of any subclass, from any copy of this package).
 *
 * @param value Any value, typically a caught error.
 * @returns `true` when `value instanceof QuicError`.
 */
export function isQuicError(value: unknown): value is QuicError {
  return value instanceof QuicError;
}
