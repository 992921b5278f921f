import { registerErrorClass } from './brand';
import { QuicError, type QuicErrorOptions } from './QuicError';

/**
 * The codes of {@link QuicStreamError}: the quiche errors that concern one stream.
 *
 * - `StreamReset`: the peer reset the stream (RESET_STREAM); its code is `applicationCode`.
 * - `StreamStopped`: the peer asked us to stop sending (STOP_SENDING); its code is `applicationCode`.
 * - `InvalidStreamState`: the stream does not exist any more, or is not in a state for this operation.
 * - `StreamLimit`: the stream cannot be opened because the peer's stream limit is reached.
 * - `FinalSize`: data arrived beyond the stream's final size.
 */
export type QuicStreamErrorCode = 'StreamReset' | 'StreamStopped' | 'InvalidStreamState' | 'StreamLimit' | 'FinalSize';

/**
 * The details of a {@link QuicStreamError}.
 */
export interface QuicStreamErrorInit extends QuicErrorOptions {
  /** The stream's id. */
  streamId: number;
  /** The application error code of a RESET_STREAM or STOP_SENDING frame, when there was one. */
  applicationCode?: number;
  /** A sentence for people. Defaults to one built from the code and the other fields. */
  message?: string;
}

/**
 * One stream failed; the connection and its other streams go on.
 *
 * A caller fails the one request or message on that stream, and may retry it on a new stream.
 * Stream ids and application codes are QUIC variable-length integers (up to 2^62 - 1); they are
 * `number`s here, exact up to `Number.MAX_SAFE_INTEGER` (2^53 - 1).
 *
 * ## Example
 * ```ts
 * if (err instanceof QuicStreamError && err.code === 'StreamReset') {
 *   console.warn(`stream ${err.streamId} reset with ${err.applicationCode}`);
 * }
 * ```
 */
export class QuicStreamError extends QuicError {
  /** The stable code; see {@link QuicStreamErrorCode}. */
  declare readonly code: QuicStreamErrorCode;
  /** The stream's id. */
  readonly streamId: number;
  /** The application error code of a RESET_STREAM or STOP_SENDING frame; `undefined` for other codes. */
  readonly applicationCode: number | undefined;

  /**
   * @param code Which stream failure this is.
   * @param init The stream id, the application code if any, and an optional message and cause.
   */
  constructor(code: QuicStreamErrorCode, init: QuicStreamErrorInit) {
    super(code, init.message ?? describeStreamError(code, init.streamId, init.applicationCode), init);
    this.streamId = init.streamId;
    this.applicationCode = init.applicationCode;
  }
}

registerErrorClass(QuicStreamError, 'QuicStreamError');

/**
 * Builds the default message, e.g. `stream 4 was reset by the peer with application code 0x10c`.
 */
function describeStreamError(code: QuicStreamErrorCode, streamId: number, applicationCode: number | undefined): string {
  const withCode = applicationCode === undefined ? '' : ` with application code 0x${applicationCode.toString(16)}`;
  switch (code) {
    case 'StreamReset':
      return `stream ${streamId} was reset by the peer${withCode}`;
    case 'StreamStopped':
      return `stream ${streamId} was stopped by the peer${withCode}`;
    case 'InvalidStreamState':
      return `stream ${streamId} is not in a state that allows this operation`;
    case 'StreamLimit':
      return `stream ${streamId} cannot be opened: the peer's stream limit is reached`;
    case 'FinalSize':
      return `stream ${streamId} received data beyond its final size`;
  }
}

/**
 * Tells whether `value` is a {@link QuicStreamError} (from any copy of this package).
 *
 * @param value Any value, typically a caught error.
 * @returns `true` when `value instanceof QuicStreamError`.
 */
export function isQuicStreamError(value: unknown): value is QuicStreamError {
  return value instanceof QuicStreamError;
}
