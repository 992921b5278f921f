import type { Subscriber } from 'rxjs';

import type { Incoming } from './Incoming';

/**
 * Collects the datagrams a socket receives in one turn of the event loop's poll phase and hands
 * them on together right after it (on `setImmediate`), the way one `recvmmsg` batch would be.
 *
 * A connection's worker then feeds quiche the whole burst before it reads, writes and flushes
 * once, instead of once per datagram, which keeps ACKs and stream writes large. `fromUdpSocket`
 * uses it; the native socket hands each `recvmmsg` batch on as it arrives, since a batch is such
 * a burst already, and waiting for `setImmediate` would put the flush one turn later.
 */
export class IncomingBurst {
  // Datagrams of the current burst.
  private burst: Incoming[] = [];
  // The pending hand-over, if one is scheduled.
  private handOver: NodeJS.Immediate | null = null;

  /** @param subscriber Where the datagrams go. */
  constructor(private readonly subscriber: Subscriber<Incoming>) {}

  /** Adds a datagram to the current burst and schedules the hand-over. */
  push(incoming: Incoming): void {
    this.burst.push(incoming);
    this.handOver ??= setImmediate(this.flush);
  }

  /** Hands on what is collected now (as on close), unless the subscriber has gone. */
  readonly flush = (): void => {
    if (this.handOver) clearImmediate(this.handOver);
    this.handOver = null;
    const ready = this.burst;
    this.burst = [];
    for (const incoming of ready) {
      if (this.subscriber.closed) return;
      this.subscriber.next(incoming);
    }
  };

  /** Drops the pending hand-over (on unsubscribe). */
  cancel(): void {
    if (this.handOver) clearImmediate(this.handOver);
    this.handOver = null;
    this.burst = [];
  }
}
