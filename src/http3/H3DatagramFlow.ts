import { Observable, type Subscriber } from 'rxjs';

import type { H3Header } from './H3Headers';
import { headerValue } from './H3Headers';

export { decodeVarint } from '../router/varint';

/**
 * Datagrams an {@link H3DatagramFlow} buffers for `incoming$` while nobody is subscribed.
 * tokio-quiche's per-flow channel holds as many.
 */
export const MAX_QUEUED_DATAGRAMS = 2048;

/**
 * An HTTP/3 datagram flow (RFC 9297) of one request stream: tokio-quiche's `FlowInfo`. Its
 * datagrams are QUIC DATAGRAM frames that start with the flow id (the stream id divided by 4) as a
 * varint; the flow strips and adds that prefix.
 *
 * Datagrams are unreliable: quiche may drop them on the way out (its send queue is full, the
 * peer does not accept datagrams, one is larger than a packet) and the network may lose them.
 *
 * ## Drop policy
 * Inbound datagrams wait in a queue of {@link MAX_QUEUED_DATAGRAMS} while `incoming$` has no
 * subscriber; when it is full the *newest* datagram is dropped and counted in `droppedIncoming`.
 * Outbound ones wait (in a queue as long) for the connection's next turn; a datagram quiche does
 * not take, or one sent to a full queue, is dropped and counted in `droppedOutgoing`.
 *
 * ## Example
 * ```ts
 * serveHttp3((req) => {
 *   req.flow?.incoming$.subscribe((d) => req.flow?.send(d)); // echo
 *   return { status: 200, body: never() };
 * }, { http3: { enableExtendedConnect: true } });
 * ```
 */
export interface H3DatagramFlow {
  /** The flow id: the request stream's id divided by 4. */
  readonly id: number;
  /**
   * The payloads received on this flow (prefix stripped). One subscriber at a time: it first gets
   * what was queued. Completes when the request stream closes or the connection ends.
   */
  readonly incoming$: Observable<Uint8Array>;
  /**
   * Queues a datagram for the next turn of the connection's worker. Never throws: a datagram that
   * cannot be sent is dropped and counted (see the drop policy).
   *
   * @param payload The payload, without the flow id prefix.
   */
  send(payload: Uint8Array): void;
  /** Inbound datagrams dropped because the queue was full. */
  readonly droppedIncoming: number;
  /** Outbound datagrams dropped: queue full, quiche refused, or the flow was closed. */
  readonly droppedOutgoing: number;
}

/** What a flow asks of its driver. Internal. */
export interface H3DatagramFlowHooks {
  /** Wakes the worker to send queued datagrams. */
  wake(): void;
}

/**
 * The implementation behind {@link H3DatagramFlow}, owned by the driver. Internal.
 */
export class DatagramFlow implements H3DatagramFlow {
  readonly incoming$: Observable<Uint8Array>;
  droppedIncoming = 0;
  droppedOutgoing = 0;
  /** Datagrams waiting for the worker's turn, prefix included. */
  readonly outgoing: Uint8Array[] = [];
  /** In the driver's list of flows with datagrams to send (see `TurnList`). */
  inPendingDatagrams = 0;
  private readonly queue: Uint8Array[] = [];
  private subscriber: Subscriber<Uint8Array> | null = null;
  private closed = false;
  private readonly prefix: Uint8Array;

  constructor(
    readonly id: number,
    private readonly hooks: H3DatagramFlowHooks,
  ) {
    this.prefix = encodeVarint(id);
    this.incoming$ = new Observable<Uint8Array>((subscriber) => {
      if (this.subscriber !== null) {
        subscriber.error(new Error(`datagram flow ${id}: incoming$ already has a subscriber`));
        return;
      }
      this.subscriber = subscriber;
      while (this.queue.length > 0 && !subscriber.closed) subscriber.next(this.queue.shift()!);
      if (this.closed) subscriber.complete();
      return () => {
        if (this.subscriber === subscriber) this.subscriber = null;
      };
    });
  }

  send(payload: Uint8Array): void {
    if (this.closed || this.outgoing.length >= MAX_QUEUED_DATAGRAMS) {
      this.droppedOutgoing++;
      return;
    }
    const datagram = new Uint8Array(this.prefix.length + payload.length);
    datagram.set(this.prefix, 0);
    datagram.set(payload, this.prefix.length);
    this.outgoing.push(datagram);
    this.hooks.wake();
  }

  /** A datagram for this flow arrived (prefix stripped). */
  deliver(payload: Uint8Array): void {
    if (this.closed) return;
    if (this.subscriber !== null) {
      this.subscriber.next(payload);
      return;
    }
    if (this.queue.length >= MAX_QUEUED_DATAGRAMS) {
      this.droppedIncoming++;
      return;
    }
    this.queue.push(payload);
  }

  /** The stream or connection ended: `incoming$` completes once its queue is taken. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.droppedOutgoing += this.outgoing.length;
    this.outgoing.length = 0;
    this.subscriber?.complete();
  }
}

/**
 * The flow id of a request, tokio-quiche's rule: a CONNECT with a `:protocol` (extended CONNECT:
 * RFC 9298 `connect-udp`, WebTransport, …) has flow `streamId / 4`; any other request none.
 * (tokio-quiche also reads draft-03's `datagram-flow-id` header of CONNECT-UDP; we do not.)
 *
 * @param streamId The request stream.
 * @param headers The request's header section.
 */
export function flowIdOf(streamId: number, headers: readonly H3Header[]): number | null {
  if (headerValue(headers, ':method') !== 'CONNECT' || headerValue(headers, ':protocol') === undefined) return null;
  return streamId / 4;
}

/**
 * Encodes a QUIC variable-length integer (RFC 9000 §16), in the shortest form.
 *
 * @param value 0 to 2^53 − 1 (JavaScript's safe integers; QUIC allows up to 2^62 − 1).
 */
export function encodeVarint(value: number): Uint8Array {
  if (value < 0x40) return Uint8Array.of(value);
  if (value < 0x4000) return Uint8Array.of(0x40 | (value >>> 8), value & 0xff);
  if (value < 0x40000000) return Uint8Array.of(0x80 | (value >>> 24), (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
  const out = new Uint8Array(8);
  let v = value;
  for (let i = 7; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 0xc0;
  return out;
}
