import type { H3HeadersInit } from './H3Headers';
import type { H3Priority } from './H3Priority';
import type { H3BodyInit } from './OutboundBody';

/**
 * An informational (1xx) response, sent before the final one (e.g. 103 Early Hints).
 */
export interface H3InformationalResponse {
  /** The status, 100–199. */
  readonly status: number;
  /** The other fields. */
  readonly headers?: H3HeadersInit;
}

/**
 * A response as a server handler writes it.
 *
 * ## Example
 * ```ts
 * const response: H3ResponseInit = {
 *   status: 200,
 *   headers: { 'content-type': 'text/plain' },
 *   informational: [{ status: 103, headers: { link: '</style.css>; rel=preload' } }],
 *   body: 'hello',
 *   trailers: { 'x-checksum': 'abc' },
 * };
 * ```
 */
export interface H3ResponseInit {
  /** The status (200–599; a 1xx makes this an informational response, see `H3Request.respond`). */
  readonly status: number;
  /** The other fields. `:status` is filled in. */
  readonly headers?: H3HeadersInit;
  /** Informational responses sent first, in order. */
  readonly informational?: readonly H3InformationalResponse[];
  /** The body; see {@link H3BodyInit} for which forms are pulled with backpressure. */
  readonly body?: H3BodyInit;
  /** Trailers, sent after the body. */
  readonly trailers?: H3HeadersInit;
  /**
   * The response's priority (RFC 9218).
   *
   * Defaults to urgency `3`, incremental (tokio-quiche's default). An urgency outside 0–7 fails the
   * response (the server answers 500).
   */
  readonly priority?: H3Priority;
}
