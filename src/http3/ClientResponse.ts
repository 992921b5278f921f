import type { Observable } from 'rxjs';

import type { H3DatagramFlow } from './H3DatagramFlow';
import { type H3Header, headerValue } from './H3Headers';
import type { H3Response } from './H3Response';
import type { H3Stream } from './H3Stream';
import type { H3StreamStats } from './H3StreamStats';

/**
 * The {@link H3Response} a client driver hands out. Internal.
 *
 * A class rather than an object literal so that `body` and `trailers$` are accessors on the
 * prototype, not a fresh accessor pair (and a slower object shape) for every response.
 */
export class ClientResponse implements H3Response {
  readonly streamId: number;
  readonly stats: H3StreamStats;
  readonly informational: readonly (readonly H3Header[])[];
  readonly body$: Observable<Uint8Array>;
  readonly flow: H3DatagramFlow | null;
  /** {@inheritDoc H3Response.header} */
  readonly header: (name: string) => string | undefined;
  readonly #stream: H3Stream;

  /**
   * @param stream The request's stream.
   * @param status The final status.
   * @param headers The response's header section.
   */
  constructor(
    stream: H3Stream,
    readonly status: number,
    readonly headers: readonly H3Header[],
  ) {
    this.#stream = stream;
    this.streamId = stream.id;
    this.stats = stream.stats;
    this.informational = stream.informational.slice();
    this.body$ = stream.inbound.body$;
    this.flow = stream.flow;
    // An own function, as before: it may be passed around unbound.
    this.header = (name) => headerValue(headers, name);
  }

  /** {@inheritDoc H3Response.body} */
  get body(): AsyncIterable<Uint8Array> {
    return this.#stream.inbound.body;
  }

  /** {@inheritDoc H3Response.trailers$} */
  get trailers$(): Observable<readonly H3Header[]> {
    return this.#stream.inbound.trailers$;
  }
}
