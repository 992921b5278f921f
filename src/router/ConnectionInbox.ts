import { Observable } from 'rxjs';

import type { Metrics } from '../metrics/Metrics';
import type { Incoming } from '../socket/Incoming';
import type { ConnectionRoute } from './ConnectionMap';

/**
 * A connection's inbox: the route the router delivers its packets to, read by its worker as
 * `packet$`.
 *
 * While nobody reads (the connection is not started yet, or paused after `handshake()`), packets
 * wait in a bounded queue; past `capacity` they are dropped and counted, as tokio-quiche drops
 * packets when a worker's channel is full.
 */
export class ConnectionInbox implements ConnectionRoute {
  // Packets that arrived while nobody was reading.
  private readonly queue: Incoming[] = [];
  // The current reader, if any.
  private reader: ((incoming: Incoming) => void) | null = null;

  /**
   * @param capacity Packets kept while nobody reads. Defaults to `2048`, tokio-quiche's channel size.
   * @param metrics Where packets dropped for a full queue are counted.
   */
  constructor(
    private readonly capacity = 2048,
    private readonly metrics?: Metrics,
  ) {}

  /** Packets for this connection: queued ones first, then each as it arrives. One reader at a time. */
  readonly packet$ = new Observable<Incoming>((subscriber) => {
    const reader = (incoming: Incoming): void => subscriber.next(incoming);
    this.reader = reader;
    // A reader may stop during the replay (take(1)): what it did not take stays queued.
    while (this.queue.length > 0 && !subscriber.closed) subscriber.next(this.queue.shift()!);
    return () => {
      if (this.reader === reader) this.reader = null;
    };
  });

  deliver(incoming: Incoming): void {
    if (this.reader) this.reader(incoming);
    else if (this.queue.length < this.capacity) this.queue.push(incoming);
    else this.metrics?.rejectedPacket('connectionQueueFull');
  }

  /** Packets waiting to be read. */
  get queued(): number {
    return this.queue.length;
  }
}
