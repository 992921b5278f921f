import { AsyncSubject, Observable, type Subscriber } from 'rxjs';

import { QuicError } from '../errors/QuicError';
import type { H3Header } from './H3Headers';

/**
 * The driver's side of an {@link InboundBody}: what the body asks of it. Both are only requests;
 * the driver acts on them on the connection's worker.
 */
export interface InboundBodyHooks {
  /** The consumer wants data and the buffer has room: read from quiche. */
  demand(): void;
  /** The consumer gave up before the end: ask the peer to stop sending (STOP_SENDING). */
  cancel(): void;
}

// Marks an Observable made by InboundBody.body$, so an outbound body can pull from it instead of
// being pushed to (an echo then has backpressure end to end).
const INBOUND_BODY = Symbol('rxjs-quiche.inboundBody');

/**
 * Returns the {@link InboundBody} behind an Observable made by its `body$`, if it is one.
 *
 * @param source$ Any Observable.
 */
export function inboundBodyOf(source$: Observable<unknown>): InboundBody | undefined {
  return (source$ as { [INBOUND_BODY]?: InboundBody })[INBOUND_BODY];
}

/**
 * The body of a request (server) or response (client) as it arrives, read with backpressure.
 *
 * Read it once, either as `body$` (an Observable: chunks are pushed as quiche delivers them) or as
 * `body` (an AsyncIterable: the consumer pulls each chunk). The driver reads from quiche only while
 * the body is being read and fewer than `maxChunks` chunks wait in its buffer; the rest stays in
 * quiche, so QUIC flow control makes the peer wait. Trailers, if the peer sends any, come after
 * the body on `trailers$`.
 *
 * Stopping early (unsubscribing from `body$`, `break` out of a `for await`) before the end sends
 * STOP_SENDING with H3_REQUEST_CANCELLED.
 */
export class InboundBody {
  // Chunks read from quiche and not yet handed to the consumer.
  private readonly queue: Uint8Array[] = [];
  // The peer's FIN has been read: after the queue, the body ends.
  private ended = false;
  // Why the body failed (a reset, the connection closed), once it has.
  private failure: { readonly error: unknown } | null = null;
  // unclaimed: nobody reads yet; claimed: one reader; cancelled: the reader gave up or the driver discarded it.
  private state: 'unclaimed' | 'claimed' | 'cancelled' = 'unclaimed';
  // Why a late reader is refused, once cancelled.
  private cancelReason = 'the body was already read';
  // The body$ subscriber, in push mode.
  private subscriber: Subscriber<Uint8Array> | null = null;
  // The pending next() of the async iterator, in pull mode.
  private waiter: { resolve(r: IteratorResult<Uint8Array>): void; reject(e: unknown): void } | null = null;
  // Trailers arrive after the body; an AsyncSubject emits them (or nothing) when the body ends.
  // Made when `trailers$` is first read (most requests are never asked), from the state so far.
  private trailers: AsyncSubject<readonly H3Header[]> | null = null;
  private trailers$Cache: Observable<readonly H3Header[]> | null = null;
  private receivedTrailers: readonly H3Header[] | null = null;

  /** The body as an Observable of chunks; see the class description. */
  readonly body$: Observable<Uint8Array>;
  /** The trailers: emits them once after the body ends and completes, or completes empty. */
  get trailers$(): Observable<readonly H3Header[]> {
    if (this.trailers$Cache === null) {
      const subject = new AsyncSubject<readonly H3Header[]>();
      if (this.receivedTrailers !== null) subject.next(this.receivedTrailers);
      if (this.failure !== null) subject.error(this.failure.error);
      else if (this.ended) subject.complete();
      this.trailers = subject;
      this.trailers$Cache = subject.asObservable();
    }
    return this.trailers$Cache;
  }

  /**
   * @param streamId The stream, for messages.
   * @param hooks What the body asks of the driver.
   * @param maxChunks Chunks the buffer holds before reading from quiche stops.
   */
  constructor(
    readonly streamId: number,
    private readonly hooks: InboundBodyHooks,
    private readonly maxChunks: number,
  ) {
    const body$ = new Observable<Uint8Array>((subscriber) => {
      if (!this.claim(subscriber)) return;
      this.subscriber = subscriber;
      this.deliver();
      if (!this.isSettled) this.hooks.demand();
      return () => {
        this.subscriber = null;
        this.abandon();
      };
    });
    (body$ as { [INBOUND_BODY]?: InboundBody })[INBOUND_BODY] = this;
    this.body$ = body$;
  }

  /** The body as an AsyncIterable of chunks; see the class description. */
  get body(): AsyncIterable<Uint8Array> {
    return { [Symbol.asyncIterator]: () => this.iterator() };
  }

  /** Whether the driver should read more from quiche now. */
  get wantsData(): boolean {
    return this.state === 'claimed' && !this.ended && this.failure === null && this.queue.length < this.maxChunks;
  }

  /** Whether somebody started reading the body. */
  get isClaimed(): boolean {
    return this.state !== 'unclaimed';
  }

  /** Whether the peer's FIN was read or the body failed: nothing more comes from quiche. */
  get isFinished(): boolean {
    return this.ended || this.failure !== null;
  }

  // Everything was handed over (or failed): nothing to wait for.
  private get isSettled(): boolean {
    return this.failure !== null || (this.ended && this.queue.length === 0);
  }

  /** @internal A chunk read from quiche. */
  push(chunk: Uint8Array): void {
    if (this.state === 'cancelled' || this.isFinished) return;
    this.queue.push(chunk);
    this.deliver();
  }

  /** @internal The peer's FIN was read. */
  end(): void {
    if (this.isFinished) return;
    this.ended = true;
    this.trailers?.complete();
    this.deliver();
  }

  /** @internal The stream failed: the reader gets `error` after the chunks already buffered are dropped. */
  fail(error: unknown): void {
    if (this.isFinished) return;
    this.failure = { error };
    this.queue.length = 0;
    this.trailers?.error(error);
    this.deliver();
  }

  /** @internal Trailers arrived (before the FIN). */
  setTrailers(headers: readonly H3Header[]): void {
    if (this.isFinished) return;
    this.receivedTrailers = headers;
    this.trailers?.next(headers);
  }

  /**
   * @internal The driver will not read this body: a reader that comes later is refused with
   * `InvalidState` and `reason`.
   */
  discard(reason: string): void {
    if (this.state !== 'unclaimed') return;
    this.state = 'cancelled';
    this.cancelReason = reason;
  }

  // One reader only; a second one (or one after a discard) is refused.
  private claim(subscriber: { error(e: unknown): void }): boolean {
    if (this.state === 'unclaimed') {
      this.state = 'claimed';
      return true;
    }
    subscriber.error(new QuicError('InvalidState', `stream ${this.streamId}: ${this.cancelReason}; a body can be read once`));
    return false;
  }

  // The reader stopped: if the body was not over, tell the driver to stop the peer.
  private abandon(): void {
    if (this.state !== 'claimed') return;
    const settled = this.isSettled;
    this.state = 'cancelled';
    this.queue.length = 0;
    if (!settled && !this.isFinished) this.hooks.cancel();
  }

  // Hands buffered chunks, then the end or the failure, to the reader.
  private deliver(): void {
    const subscriber = this.subscriber;
    if (subscriber) {
      // The subscriber may unsubscribe from inside next(): stop as soon as it has.
      while (this.queue.length > 0 && this.subscriber === subscriber) subscriber.next(this.queue.shift()!);
      if (this.subscriber !== subscriber) return;
      if (this.failure) {
        this.subscriber = null;
        subscriber.error(this.failure.error);
      } else if (this.ended) {
        this.subscriber = null;
        subscriber.complete();
      }
      return;
    }
    const waiter = this.waiter;
    if (waiter) {
      if (this.queue.length > 0) {
        this.waiter = null;
        waiter.resolve({ value: this.queue.shift()!, done: false });
        this.askForMore();
      } else if (this.failure) {
        this.waiter = null;
        waiter.reject(this.failure.error);
      } else if (this.ended) {
        this.waiter = null;
        waiter.resolve({ value: undefined, done: true });
      }
    }
  }

  // A pulling reader took a chunk: ask the driver to refill once the buffer is half empty, so a
  // steady reader costs a worker turn per half buffer rather than per chunk.
  private askForMore(): void {
    if (this.wantsData && this.queue.length <= this.maxChunks >> 1) this.hooks.demand();
  }

  private iterator(): AsyncIterator<Uint8Array> {
    const refused: { error?: unknown } = {};
    if (!this.claim({ error: (e) => (refused.error = e) })) {
      return { next: () => Promise.reject(refused.error) };
    }
    return {
      next: () => {
        if (this.state === 'cancelled') return Promise.resolve({ value: undefined, done: true });
        if (this.queue.length > 0) {
          const value = this.queue.shift()!;
          this.askForMore();
          return Promise.resolve({ value, done: false });
        }
        if (this.failure) return Promise.reject(this.failure.error);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        if (this.waiter) return Promise.reject(new QuicError('InvalidState', 'next() called before the previous one settled'));
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
          this.hooks.demand();
        });
      },
      return: () => {
        this.waiter = null;
        this.abandon();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
