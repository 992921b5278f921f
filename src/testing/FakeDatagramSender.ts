import { asyncScheduler, Subject } from 'rxjs';

import type { napi } from '../native/binding';
import type { DatagramSender } from '../socket/DatagramSender';
import type { SocketAddress } from '../socket/Incoming';
import { decodeFakeFrames, type FakeFrame } from './FakeFrame';

/**
 * One `sendBatch` call a {@link FakeDatagramSender} received.
 */
export interface SentBatch {
  /** The packets of the batch, each copied out of the caller's buffer. */
  readonly datagrams: readonly Buffer[];
  /** Where they went. */
  readonly to: SocketAddress;
  /** The local address they left from. */
  readonly from: SocketAddress;
  /** The batch's GSO segment size (its first packet's length). */
  readonly segmentSize: number;
  /** The clock's time of the call: the virtual frame inside `testScheduler.run`. */
  readonly at: number;
}

/**
 * One datagram sent through a {@link FakeDatagramSender}, by `sendBatch` or `sendTo`.
 */
export interface SentDatagram {
  /** The bytes, copied. */
  readonly buf: Buffer;
  /** Where it went. */
  readonly to: SocketAddress;
  /** `'batch'` for a packet of a `sendBatch` call, `'reply'` for a `sendTo` (Retry, version negotiation). */
  readonly via: 'batch' | 'reply';
  /** The clock's time of the call. */
  readonly at: number;
}

/**
 * A {@link DatagramSender} that sends nothing and records everything, for specs of the worker, the
 * acceptor and your own application.
 *
 * `batches` keeps each `sendBatch` call (the worker's flushes), `replies` each `sendTo` call (the
 * acceptor's stateless replies), and `datagrams$` / `frames$` emit as sends happen, for marble
 * assertions. Like the real senders it copies what it needs, so callers may reuse their buffer.
 *
 * ## Example
 * ```ts
 * const sender = new FakeDatagramSender();
 * // … run a worker or an acceptor with it …
 * expect(sender.batches.map((b) => b.datagrams.length)).toEqual([1, 3]);
 * expect(sender.frames()).toContainEqual(connectionCloseFrame({ isApp: true, errorCode: 0 }));
 * ```
 */
export class FakeDatagramSender implements DatagramSender {
  /** Every `sendBatch` call, in order. */
  readonly batches: SentBatch[] = [];
  /** Every `sendTo` call, in order. */
  readonly replies: SentDatagram[] = [];
  /** Every datagram sent, both ways, in order. */
  readonly datagrams: SentDatagram[] = [];
  /** Each datagram as it is sent. */
  readonly datagrams$ = new Subject<SentDatagram>();
  /** Each {@link FakeFrame} of each fake datagram as it is sent (other datagrams are skipped). */
  readonly frames$ = new Subject<FakeFrame>();

  /**
   * @param gso What {@link gso} reports. Defaults to `false`.
   * @param now The clock for `at`. Defaults to `asyncScheduler.now()` (virtual inside `testScheduler.run`).
   */
  constructor(
    readonly gso = false,
    private readonly now: () => number = () => asyncScheduler.now(),
  ) {}

  sendBatch(out: Uint8Array, lengths: Uint32Array, batch: napi.SendBatch): void {
    const at = this.now();
    const datagrams: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < batch.count; i++) {
      const length = lengths[i]!;
      datagrams.push(Buffer.from(out.subarray(offset, offset + length)));
      offset += length;
    }
    this.batches.push({ datagrams, to: { ...batch.to }, from: { ...batch.from }, segmentSize: batch.segmentSize, at });
    for (const buf of datagrams) this.emit({ buf, to: { ...batch.to }, via: 'batch', at });
  }

  sendTo(datagram: Uint8Array, to: napi.SocketAddress): void {
    const sent: SentDatagram = { buf: Buffer.from(datagram), to: { ...to }, via: 'reply', at: this.now() };
    this.replies.push(sent);
    this.emit(sent);
  }

  /**
   * The {@link FakeFrame}s of every fake datagram sent so far, in order.
   *
   * @returns The frames; datagrams that are not fake (real QUIC packets) contribute none.
   */
  frames(): FakeFrame[] {
    return this.datagrams.flatMap((d) => decodeFakeFrames(d.buf) ?? []);
  }

  private emit(sent: SentDatagram): void {
    this.datagrams.push(sent);
    this.datagrams$.next(sent);
    for (const frame of decodeFakeFrames(sent.buf) ?? []) this.frames$.next(frame);
  }
}
