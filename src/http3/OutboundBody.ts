import { isObservable, type Observable, type Subscription, takeWhile } from 'rxjs';

import { QuicError } from '../errors/QuicError';
import { inboundBodyOf } from './InboundBody';

/**
 * How far, in bytes, a body given as an Observable may run ahead of what the peer has taken before
 * it fails with `BodyOverflow`. An Observable cannot be paused, so this bound is what keeps a fast
 * producer from buffering without limit. 16 MiB.
 */
export const MAX_OBSERVABLE_BODY_BACKLOG = 16 * 1024 * 1024;

/**
 * A body to send: tokio-quiche's stream of `OutboundFrame::Body`, in the forms JavaScript has.
 *
 * - `Uint8Array` or `string` (UTF-8): sent as it is.
 * - `Iterable<Uint8Array>` (an array of chunks, a generator) and `AsyncIterable<Uint8Array>` (an
 *   async generator, a Node `Readable`): **pulled**, one chunk at a time, only when the stream can
 *   take more. This is the form with backpressure: the producer runs at the network's pace.
 * - `Observable<Uint8Array>`: subscribed once the stream can take body bytes. An Observable pushes;
 *   it cannot be paused, so what it emits faster than the peer reads waits in memory, up to
 *   {@link MAX_OBSERVABLE_BODY_BACKLOG} bytes ahead of what was sent; past that the body fails with
 *   `BodyOverflow` and the stream is reset. A `body$` of an incoming message is the exception: it is
 *   pulled like an AsyncIterable (so an echo is paced by the slower peer).
 *
 * An error from the producer resets the stream with H3_REQUEST_CANCELLED.
 */
export type H3BodyInit =
  | Uint8Array
  | string
  | Observable<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

/**
 * Where an {@link OutboundBody} puts what it pulls.
 */
export interface OutboundBodySink {
  /** A chunk to write. */
  chunk(data: Uint8Array): void;
  /** The body is complete. */
  end(): void;
  /** The producer failed. */
  fail(error: unknown): void;
  /** Body bytes written to quiche so far; bounds how far an Observable may run ahead. */
  sentBytes?(): number;
}

const encoder = new TextEncoder();

/**
 * Pulls a {@link H3BodyInit} into a stream's outbound queue, a chunk at a time, when asked.
 *
 * The driver calls `pull()` when the stream's queue is empty and quiche has capacity. A
 * synchronous source delivers before `pull()` returns; an asynchronous one delivers later (then
 * the driver is signalled by the sink).
 */
export class OutboundBody {
  // Done: the end or a failure reached the sink, or the body was cancelled.
  private finished = false;
  // An async pull is in flight.
  private waiting = false;
  // An Observable source was subscribed: it pushes by itself from then on.
  private subscribed = false;
  // The live subscription of an Observable source.
  private subscription: Subscription | null = null;
  private iterator: Iterator<Uint8Array> | AsyncIterator<Uint8Array> | null = null;
  private readonly kind: 'bytes' | 'observable' | 'iterable' | 'asyncIterable';
  // Bytes an Observable source has pushed into the sink.
  private pushed = 0;

  /**
   * @param source The body.
   * @param sink Where chunks go.
   * @param maxBacklog How far an Observable source may run ahead of `sink.sentBytes()`. Defaults to
   * {@link MAX_OBSERVABLE_BODY_BACKLOG}.
   */
  constructor(
    private readonly source: H3BodyInit,
    private readonly sink: OutboundBodySink,
    private readonly maxBacklog = MAX_OBSERVABLE_BODY_BACKLOG,
  ) {
    if (typeof source === 'string' || source instanceof Uint8Array) this.kind = 'bytes';
    else if (isObservable(source)) this.kind = inboundBodyOf(source) ? 'asyncIterable' : 'observable';
    else if (typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') this.kind = 'asyncIterable';
    else if (typeof (source as Iterable<Uint8Array>)[Symbol.iterator] === 'function') this.kind = 'iterable';
    else throw new TypeError('a body must be a Uint8Array, a string, an Observable, an Iterable or an AsyncIterable');
  }

  /** Whether the source is done (ended, failed or cancelled). */
  get done(): boolean {
    return this.finished;
  }

  /** Whether a pull is in flight (an AsyncIterable's `next()`), or an Observable pushes by itself. */
  get busy(): boolean {
    return this.waiting || (this.subscribed && !this.finished);
  }

  /** Asks the source for the next chunk. */
  pull(): void {
    if (this.finished || this.busy) return;
    switch (this.kind) {
      case 'bytes': {
        const s = this.source as Uint8Array | string;
        this.finished = true;
        const bytes = typeof s === 'string' ? encoder.encode(s) : s;
        if (bytes.length > 0) this.sink.chunk(bytes);
        this.sink.end();
        return;
      }
      case 'observable':
        return this.subscribe();
      case 'iterable':
        return this.pullSync();
      case 'asyncIterable':
        return this.pullAsync();
    }
  }

  /** Stops the source: unsubscribes, or returns the iterator. Nothing reaches the sink after. */
  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.subscription?.unsubscribe();
    this.subscription = null;
    const it = this.iterator;
    this.iterator = null;
    try {
      const r = it?.return?.();
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(undefined, () => undefined);
    } catch {
      // The producer's own cleanup failed; it is cancelled regardless.
    }
  }

  private subscribe(): void {
    const source = this.source as Observable<Uint8Array>;
    this.subscribed = true;
    // takeWhile stops even a synchronous source in the middle of its subscribe().
    const subscription = source.pipe(takeWhile(() => !this.finished)).subscribe({
      next: (chunk) => {
        if (this.finished) return;
        const bytes = toBytes(chunk);
        this.pushed += bytes.length;
        this.sink.chunk(bytes);
        const backlog = this.sink.sentBytes ? this.pushed - this.sink.sentBytes() : 0;
        if (backlog > this.maxBacklog) {
          const error = new QuicError(
            'BodyOverflow',
            `the body Observable ran ${backlog} bytes ahead of the peer (at most ${this.maxBacklog}); give an AsyncIterable to be paced by the network`,
          );
          this.settle(() => this.sink.fail(error));
        }
      },
      error: (e: unknown) => this.settle(() => this.sink.fail(e)),
      complete: () => this.settle(() => this.sink.end()),
    });
    // A synchronous source may have finished (or been cancelled) before subscribe() returned.
    if (this.finished) subscription.unsubscribe();
    else this.subscription = subscription;
  }

  private pullSync(): void {
    try {
      this.iterator ??= (this.source as Iterable<Uint8Array>)[Symbol.iterator]();
      const r = (this.iterator as Iterator<Uint8Array>).next();
      if (r.done) this.settle(() => this.sink.end());
      else this.sink.chunk(toBytes(r.value));
    } catch (e) {
      this.settle(() => this.sink.fail(e));
    }
  }

  private pullAsync(): void {
    try {
      if (this.iterator === null) {
        const inbound = isObservable(this.source) ? inboundBodyOf(this.source) : undefined;
        const iterable = inbound ? inbound.body : (this.source as AsyncIterable<Uint8Array>);
        this.iterator = iterable[Symbol.asyncIterator]();
      }
      this.waiting = true;
      (this.iterator as AsyncIterator<Uint8Array>).next().then(
        (r) => {
          this.waiting = false;
          if (this.finished) return;
          if (r.done) this.settle(() => this.sink.end());
          else this.sink.chunk(toBytes(r.value));
        },
        (e: unknown) => {
          this.waiting = false;
          this.settle(() => this.sink.fail(e));
        },
      );
    } catch (e) {
      this.waiting = false;
      this.settle(() => this.sink.fail(e));
    }
  }

  private settle(report: () => void): void {
    if (this.finished) return;
    this.finished = true;
    this.subscription = null;
    this.iterator = null;
    report();
  }
}

// Chunks should be Uint8Arrays; a string chunk is accepted as UTF-8.
function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
}
