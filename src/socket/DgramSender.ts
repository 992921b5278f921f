import type { Socket } from 'node:dgram';

import type { napi } from '../native/binding';
import type { Metrics } from '../metrics/Metrics';
import type { DatagramSender } from './DatagramSender';

/**
 * The send half of a `node:dgram` socket.
 *
 * `dgram.send()` is asynchronous and reads its buffer later, so each batch is copied once into a
 * buffer of its own (one allocation per batch, none per packet) and its packets are sent as views
 * of it. Write errors are counted in {@link Metrics.writeError} and otherwise ignored: QUIC treats
 * the datagram as lost.
 */
export class DgramSender implements DatagramSender {
  /** `node:dgram` sends one datagram per system call. */
  readonly gso = false;

  // One callback for every send, so no closure is made per packet.
  private readonly onSent = (err: Error | null): void => {
    if (err) this.metrics?.writeError();
  };

  /**
   * @param socket A bound `node:dgram` socket.
   * @param metrics Where write errors are counted.
   */
  constructor(
    private readonly socket: Socket,
    private readonly metrics?: Metrics,
  ) {}

  sendBatch(out: Uint8Array, lengths: Uint32Array, batch: napi.SendBatch): void {
    const copy = Buffer.allocUnsafe(batch.bytes);
    copy.set(out.subarray(0, batch.bytes));
    let offset = 0;
    for (let i = 0; i < batch.count; i++) {
      const length = lengths[i]!;
      this.send(copy, offset, length, batch.to);
      offset += length;
    }
  }

  sendTo(datagram: Uint8Array, to: napi.SocketAddress): void {
    const copy = Buffer.from(datagram);
    this.send(copy, 0, copy.length, to);
  }

  private send(buf: Buffer, offset: number, length: number, to: napi.SocketAddress): void {
    try {
      this.socket.send(buf, offset, length, to.port, to.address, this.onSent);
    } catch {
      // A closed socket throws synchronously; the datagram is lost like any other.
      this.metrics?.writeError();
    }
  }
}
