import type { Observable, ObservableInput } from 'rxjs';

import type { H3DatagramFlow } from './H3DatagramFlow';
import { fieldValue, type H3Header, headerValue } from './H3Headers';
import type { H3Request } from './H3Request';
import type { H3ResponseInit } from './H3ResponseInit';
import type { H3Stream } from './H3Stream';
import type { H3StreamStats } from './H3StreamStats';

/**
 * The {@link H3Request} a server driver hands out. Internal.
 *
 * A class rather than an object literal so that the live fields (`priority`, `body`, `trailers$`)
 * are accessors on the prototype: an object literal with accessors costs the server a fresh
 * accessor pair and a slower object shape for every request.
 */
export class ServerRequest implements H3Request {
  readonly streamId: number;
  readonly method: string;
  readonly scheme: string;
  readonly authority: string;
  readonly path: string;
  readonly stats: H3StreamStats;
  readonly body$: Observable<Uint8Array>;
  /** {@inheritDoc H3Request.header} */
  readonly header: (name: string) => string | undefined;
  /** {@inheritDoc H3Request.respond} */
  readonly respond: (response: H3ResponseInit | ObservableInput<H3ResponseInit>) => void;
  readonly #stream: H3Stream;

  /**
   * @param stream The request's stream.
   * @param headers The request's header section.
   * @param isInEarlyData Whether it came in 0-RTT.
   * @param flow Its datagram flow, if any.
   * @param respond What answering it does (the driver's `respond` for this stream).
   */
  constructor(
    stream: H3Stream,
    readonly headers: readonly H3Header[],
    readonly isInEarlyData: boolean,
    readonly flow: H3DatagramFlow | null,
    respond: (response: H3ResponseInit | ObservableInput<H3ResponseInit>) => void,
  ) {
    this.#stream = stream;
    this.streamId = stream.id;
    this.method = fieldValue(headers, ':method') ?? '';
    this.scheme = fieldValue(headers, ':scheme') ?? '';
    this.authority = fieldValue(headers, ':authority') ?? '';
    this.path = fieldValue(headers, ':path') ?? '';
    this.stats = stream.stats;
    this.body$ = stream.inbound.body$;
    // Own functions, as before: a handler may pass them around unbound.
    this.header = (name) => headerValue(headers, name);
    this.respond = respond;
  }

  /** {@inheritDoc H3Request.priority} */
  get priority(): string | undefined {
    return this.#stream.priorityUpdate;
  }

  /** {@inheritDoc H3Request.body} */
  get body(): AsyncIterable<Uint8Array> {
    return this.#stream.inbound.body;
  }

  /** {@inheritDoc H3Request.trailers$} */
  get trailers$(): Observable<readonly H3Header[]> {
    return this.#stream.inbound.trailers$;
  }
}
