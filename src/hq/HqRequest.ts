import type { Observable } from 'rxjs';

/**
 * A response body: the bytes an hq-interop server writes on the request's stream before its FIN.
 *
 * The forms are those of an HTTP/3 body (`H3BodyInit`), with the same pacing:
 * - `Uint8Array` or `string` (UTF-8): written as it is, as flow control allows.
 * - `Iterable<Uint8Array>` and `AsyncIterable<Uint8Array>` (a generator, a Node `Readable` such as
 *   `fs.createReadStream`): **pulled** one chunk at a time, only when the stream has room, so the
 *   producer runs at the peer's pace.
 * - `Observable<Uint8Array>`: subscribed once the stream has room. It pushes and cannot be paused:
 *   what it emits ahead of the peer waits in memory, at most `MAX_OBSERVABLE_BODY_BACKLOG` (16 MiB)
 *   ahead of what was sent; past that the body fails (`BodyOverflow`) and the stream is reset.
 */
export type HqBodyInit = Uint8Array | string | Observable<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * What a handler returns: a body, or `null` / `undefined` for "nothing at this path" (the stream is
 * reset with HQ_NOT_FOUND), or a Promise of either.
 */
export type HqResponseInit = HqBodyInit | null | undefined | PromiseLike<HqBodyInit | null | undefined>;

/**
 * One request, as the server's handler sees it.
 */
export interface HqRequest {
  /** The request's stream (client-initiated bidirectional: 0, 4, 8, …). */
  readonly streamId: number;
  /**
   * The request target as sent, e.g. `/index.html` or `/a?b=c`: no dot segments and no encoded
   * separators (those requests are refused before any handler runs).
   */
  readonly path: string;
  /** Whether the request arrived in 0-RTT early data (a resumed client's first flight). */
  readonly isInEarlyData: boolean;
}

/**
 * Answers one hq-interop request with its body; see {@link HqResponseInit}. Throwing, rejecting or
 * a failing body resets the stream with HQ_INTERNAL_ERROR.
 */
export type HqHandler = (request: HqRequest) => HqResponseInit;
