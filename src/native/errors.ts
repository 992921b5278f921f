/**
 * The one place an error thrown by the native addon becomes a typed {@link QuicError}.
 *
 * The addon throws plain JS `Error`s whose `code` is a stable name: quiche's (`StreamReset`,
 * `BufferTooShort`, …), quiche's HTTP/3 names (`ExcessiveLoad`, …) or ours (`InvalidArgument`,
 * `ConnectionClosed`, `InvalidPem`, `CertificateFile`, `InvalidSetting`). Data an error carries is
 * appended to its message as `key=value` (`streamId=4`, `errorCode=268`, `wireCode=263`); this
 * module reads it back into typed fields, so no other module ever parses a native message.
 */
import { H3_ERROR_NAMES, isQuicErrorCode, type H3ErrorName } from '../errors/codes';
import { Http3Error } from '../errors/Http3Error';
import { QuicError } from '../errors/QuicError';
import { QuicSettingsError } from '../errors/QuicSettingsError';
import { QuicStreamError, type QuicStreamErrorCode } from '../errors/QuicStreamError';

// The codes that concern one stream, and become a QuicStreamError when the stream is named.
const STREAM_CODES: ReadonlySet<string> = new Set<QuicStreamErrorCode>([
  'StreamReset',
  'StreamStopped',
  'InvalidStreamState',
  'StreamLimit',
  'FinalSize',
]);

// The HTTP/3 codes. `BufferTooShort` is quiche's transport name and is not among them.
const H3_CODES: ReadonlySet<string> = new Set<string>(H3_ERROR_NAMES);

/**
 * Turns anything a native call threw into a typed {@link QuicError}, keeping the original as `cause`.
 *
 * - A stream code (`StreamReset`, `StreamStopped`, `InvalidStreamState`, `StreamLimit`,
 *   `FinalSize`) whose message names the stream (`streamId=<n>`) becomes a {@link QuicStreamError}
 *   with `streamId` and, for a RESET_STREAM or STOP_SENDING, `applicationCode` (`errorCode=<n>`).
 *   Without a stream id (e.g. `StreamLimit` from opening an HTTP/3 request) it stays a plain
 *   `QuicError` with that code.
 * - An HTTP/3 code (`ExcessiveLoad`, `FrameUnexpected`, …) becomes an {@link Http3Error} with
 *   `wireCode` (`wireCode=<n>`; `0`, which quiche reports when it sends no code of its own, becomes
 *   `undefined`).
 * - `InvalidSetting` becomes a {@link QuicSettingsError}; its `setting` is the native option the
 *   message starts with, in camelCase (`initial_max_data must be …` → `'initialMaxData'`).
 * - Any other known code becomes a `QuicError` with the same code and the native message.
 * - Anything else (napi's own argument checks, whose codes are napi statuses such as `InvalidArg`
 *   or `NumberExpected`; a value that is not an `Error`) becomes `QuicError('InvalidArgument')`.
 *
 * Stream and HTTP/3 errors get their class's message, built from the typed fields; the others keep
 * the native message. A `QuicError` is returned as it is, so mapping twice is harmless.
 *
 * ## Example
 * ```ts
 * try {
 *   conn.streamRecv(streamId, buf);
 * } catch (e) {
 *   subscriber.error(fromNativeError(e));
 * }
 * ```
 * @see {@link callNative} to run a native call with this mapping.
 * @param e What the native call threw.
 * @returns The typed error; `cause` is `e`.
 */
export function fromNativeError(e: unknown): QuicError {
  if (e instanceof QuicError) return e;
  if (!isErrorLike(e)) {
    return new QuicError('InvalidArgument', `a native call failed with a non-error value: ${String(e)}`, { cause: e });
  }
  const code: unknown = e.code;
  if (!isQuicErrorCode(code)) {
    // napi-rs's own checks of the arguments (wrong type, detached buffer, …): the caller's fault.
    return new QuicError('InvalidArgument', e.message, { cause: e });
  }
  const cause = { cause: e };

  if (STREAM_CODES.has(code)) {
    const streamId = readNumber(e.message, 'streamId');
    if (streamId !== undefined) {
      return new QuicStreamError(code as QuicStreamErrorCode, {
        streamId,
        applicationCode: readNumber(e.message, 'errorCode'),
        ...cause,
      });
    }
    return new QuicError(code, e.message, cause);
  }
  if (H3_CODES.has(code)) {
    const wireCode = readNumber(e.message, 'wireCode');
    return new Http3Error(code as H3ErrorName, { wireCode: wireCode === 0 ? undefined : wireCode, ...cause });
  }
  if (code === 'InvalidSetting') {
    return new QuicSettingsError(settingOf(e.message), e.message, cause);
  }
  return new QuicError(code, e.message, cause);
}

/**
 * Runs a native call, rethrowing what it throws as a typed {@link QuicError}.
 *
 * ## Example
 * ```ts
 * const header = callNative(() => napi.parseHeader(datagram, 16)); // throws QuicError('InvalidPacket'), …
 * ```
 * @param fn The native call (no arguments; close over them).
 * @returns What `fn` returns.
 * @throws {QuicError} {@link fromNativeError} of whatever `fn` throws.
 */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNativeError(e);
  }
}

/**
 * Tells whether `value` looks like an error. Not `instanceof Error`: the addon creates its errors
 * with the `Error` of Node's main context, which is another class in a `vm` context (jest's sandbox).
 */
function isErrorLike(value: unknown): value is Error & { code?: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/**
 * Reads a `key=<decimal>` pair from a native message.
 *
 * Values beyond `Number.MAX_SAFE_INTEGER` (QUIC allows up to 2^62 - 1) lose precision.
 */
function readNumber(message: string, key: string): number | undefined {
  const match = new RegExp(`\\b${key}=(\\d+)`).exec(message);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * The option an `InvalidSetting` message is about: its leading identifier, in camelCase
 * (`max_ack_delay must be …` → `maxAckDelay`, `cc_algorithm: …` → `ccAlgorithm`).
 */
function settingOf(message: string): string {
  const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(message)?.[0];
  if (name === undefined) return 'config';
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
