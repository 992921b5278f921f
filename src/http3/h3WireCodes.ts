/**
 * The HTTP/3 error codes the driver sends (RFC 9114 §8.1). `h3ErrorName` (errors/wireCodes) names
 * any of them.
 */

/** No error: a graceful close or an early end of a stream the peer need not finish. */
export const H3_NO_ERROR = 0x100;
/** The HTTP/3 layer failed internally. */
export const H3_INTERNAL_ERROR = 0x102;
/** The request was not processed (sent for requests past a GOAWAY or that nobody listens for). */
export const H3_REQUEST_REJECTED = 0x10b;
/** The request or its response is no longer wanted. */
export const H3_REQUEST_CANCELLED = 0x10c;
/** The message was malformed. */
export const H3_MESSAGE_ERROR = 0x10e;
