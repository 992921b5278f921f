/**
 * The application error codes hq-interop streams and connections carry.
 *
 * HTTP/0.9 over QUIC defines none: the QUIC Interop Runner only needs the bytes. These are ours,
 * small and stable, so a peer's RESET_STREAM or STOP_SENDING can be told apart in logs and by
 * `QuicStreamError.applicationCode`.
 */

/** No error: the clean close of a connection (what unsubscribing sends). */
export const HQ_NO_ERROR = 0x0;
/** The server failed to answer: its handler threw or rejected, or the body's producer failed. */
export const HQ_INTERNAL_ERROR = 0x1;
/** The request line was malformed (not `GET /path`, too long, a dot segment); sent both ways. */
export const HQ_BAD_REQUEST = 0x2;
/** The server has nothing at that path (its handler returned `null` or `undefined`). */
export const HQ_NOT_FOUND = 0x3;
/** The request or its response is no longer wanted (a client unsubscribed; a peer reset the request). */
export const HQ_REQUEST_CANCELLED = 0x4;
