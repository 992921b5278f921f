import type { Observable } from 'rxjs';

import { H3Controller, type H3DriverPort } from './H3Controller';
import type { H3Request } from './H3Request';

/**
 * The controller of a {@link ServerH3Driver}: tokio-quiche's `ServerH3Controller`, with the
 * requests as an Observable.
 */
export class ServerH3Controller extends H3Controller {
  /**
   * @param port The driver's side.
   * @param request$ The driver's requests.
   */
  constructor(
    port: H3DriverPort,
    /**
     * Requests as they arrive; answer each with `request.respond(…)`. One subscriber: requests
     * that arrive before it subscribes wait for it. Completes when the connection closes cleanly,
     * errors with the connection's error otherwise (an `Http3Error` for an HTTP/3 protocol error).
     * Once the subscriber has left, new requests are refused with H3_REQUEST_REJECTED.
     */
    readonly request$: Observable<H3Request>,
  ) {
    super(port);
  }
}
