import type { QuicError } from '../errors/QuicError';
import type { napi } from '../native/binding';
import type { H3DatagramFlow } from './H3DatagramFlow';
import type { H3Header } from './H3Headers';

/**
 * Why the driver closed a connection gracefully (with H3_NO_ERROR) on its own.
 *
 * - `postAcceptTimeout`: no request arrived within `Http3Settings.postAcceptTimeout`.
 * - `maxRequestsPerConnection`: the client asked for more requests than
 *   `Http3Settings.maxRequestsPerConnection` allows.
 */
export type H3ShutdownReason = 'postAcceptTimeout' | 'maxRequestsPerConnection';

/**
 * What happens on an HTTP/3 connection, as the controller's `event$` reports it: tokio-quiche's
 * `H3Event` (with the server's `Headers` and the client's `NewOutboundRequest` folded in).
 *
 * The events describe; requests, responses and bodies are handled through their own Observables
 * (`request$`, `request()`, `body$`). `event$` never errors: a failure is a `connectionError` event,
 * and `event$` completes when the connection has closed.
 */
export type H3Event =
  /** The peer's SETTINGS, once, as `[identifier, value]` pairs in the order received. */
  | { readonly type: 'settings'; readonly settings: ReadonlyArray<readonly [number, number]> }
  /**
   * A header section arrived: a request (server), a response or informational response (client),
   * or trailers. `moreFrames` is `false` when the section ended the stream.
   */
  | {
      readonly type: 'headers';
      readonly streamId: number;
      readonly headers: readonly H3Header[];
      readonly moreFrames: boolean;
      /** Server only: whether the request arrived in 0-RTT early data. */
      readonly isInEarlyData?: boolean;
    }
  /** Body bytes were read from a stream; at the end, once more with `numBytes: 0, fin: true`. */
  | { readonly type: 'bodyBytesReceived'; readonly streamId: number; readonly numBytes: number; readonly fin: boolean }
  /** The peer reset a stream (RESET_STREAM) with `errorCode`. */
  | { readonly type: 'reset'; readonly streamId: number; readonly errorCode: number }
  /** The peer sent GOAWAY: no request on a stream `>= id` will be processed (RFC 9114 §5.2). */
  | { readonly type: 'goaway'; readonly id: number }
  /** Server only: a PRIORITY_UPDATE (RFC 9218) for an open request; `value` is its Priority Field Value. */
  | { readonly type: 'priorityUpdate'; readonly streamId: number; readonly value: string }
  /**
   * A datagram arrived for a flow no request has (tokio-quiche's autonomous `NewFlow`): the flow
   * was created for it. Clients accept such flows always, servers only with `enableExtendedConnect`;
   * at most `MAX_AUTONOMOUS_FLOWS` (256) per connection.
   */
  | { readonly type: 'newFlow'; readonly flowId: number; readonly flow: H3DatagramFlow }
  /** A stream is done in both directions and forgotten by the driver. */
  | { readonly type: 'streamClosed'; readonly streamId: number }
  /** Client only: a request was sent on `streamId`. */
  | { readonly type: 'newOutboundRequest'; readonly streamId: number }
  /**
   * Server only: a response could not be completed. Either the handler failed (or completed) before
   * a final response, and a 500 was sent instead; or the body failed, or the peer stopped the
   * stream, and the stream was reset.
   */
  | { readonly type: 'responseError'; readonly streamId: number; readonly error: unknown }
  /** The driver closed the connection gracefully on its own (H3_NO_ERROR). */
  | { readonly type: 'connectionShutdown'; readonly reason: H3ShutdownReason }
  /**
   * The connection closed: the CONNECTION_CLOSE we sent (`local`) and the one the peer sent
   * (`peer`), each `null` when there was none (an idle timeout has neither). Emitted from
   * `onConnClose`, so not when the connection never got established.
   */
  | { readonly type: 'connectionClosed'; readonly local: napi.ConnectionErrorInfo | null; readonly peer: napi.ConnectionErrorInfo | null }
  /**
   * The connection failed: an `Http3Error` when the peer broke HTTP/3 (quiche has closed the
   * connection with the matching code), a `QuicTransportError` when the peer closed with an error,
   * or another `QuicError`. The last event before `event$` completes.
   */
  | { readonly type: 'connectionError'; readonly error: QuicError };
