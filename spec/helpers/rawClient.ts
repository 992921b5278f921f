import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';

import { napi } from '../../src/native/binding';
import type { ConnectionParams } from '../../src/settings/ConnectionParams';
import { createNativeConfig } from '../../src/settings/toNativeConfig';
import type { SocketAddress } from '../../src/socket/Incoming';
import { bindUdp, closeAll, sleep } from './loopback';

/**
 * A QUIC client driven by hand: a native `napi.Connection.connect` over its own loopback socket,
 * with no worker. A spec decides when it sends (`flush`) and what it feeds quiche (`feed`), so it
 * can stall after a flight, replay or rewrite packets, and read quiche's view of the peer's close.
 */
export class RawClient {
  /** Every datagram the socket received, in order; `feed` consumes them from `next`. */
  readonly received: Buffer[] = [];
  /** Every datagram sent, in order (copies). */
  readonly sent: Buffer[] = [];
  private next = 0;
  private readonly out = new Uint8Array(64 * 1500);
  private readonly lengths = new Uint32Array(64);
  private readonly onMessage = (buf: Buffer): void => {
    this.received.push(buf);
  };

  private constructor(
    readonly socket: Socket,
    readonly conn: napi.Connection,
    readonly local: SocketAddress,
    readonly server: SocketAddress,
  ) {
    socket.on('message', this.onMessage);
  }

  /**
   * Binds a socket and creates the client connection (nothing is sent yet).
   *
   * @param server The server's address.
   * @param params Client parameters (e.g. `loopbackParams().client`).
   * @param session A session to resume.
   */
  static async open(server: SocketAddress, params: ConnectionParams, session?: Uint8Array): Promise<RawClient> {
    const socket = await bindUdp();
    const a = socket.address();
    const local = { address: a.address, port: a.port };
    const peer = { address: server.address, port: server.port };
    const config = createNativeConfig(params, 'client');
    const conn = napi.Connection.connect('localhost', randomBytes(20), local, peer, config, session ?? null);
    return new RawClient(socket, conn, local, peer);
  }

  /** Sends everything quiche has ready; returns how many datagrams went. */
  flush(): number {
    let count = 0;
    for (;;) {
      const batch = this.conn.send(this.out, this.lengths, false);
      if (batch === null) return count;
      let offset = 0;
      for (let i = 0; i < batch.count; i++) {
        const datagram = Buffer.from(this.out.subarray(offset, offset + this.lengths[i]!));
        offset += this.lengths[i]!;
        this.sent.push(datagram);
        this.socket.send(datagram, batch.to.port, batch.to.address);
        count++;
      }
    }
  }

  /** Sends one datagram as it is (crafted, replayed or corrupted). */
  sendRaw(datagram: Uint8Array, to: SocketAddress = this.server): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(datagram, to.port, to.address, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Feeds quiche every datagram received and not yet fed; returns how many. */
  feed(): number {
    let count = 0;
    while (this.next < this.received.length) {
      const datagram = this.received[this.next++]!;
      try {
        this.conn.recv(datagram, this.server, this.local);
      } catch {
        // quiche queued a CONNECTION_CLOSE or dropped the packet; the spec inspects the connection.
      }
      count++;
    }
    return count;
  }

  /** Waits until at least `count` datagrams were received in all; returns them all. */
  async receive(count: number, ms: number): Promise<Buffer[]> {
    const deadline = Date.now() + ms;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for datagram #${count}`);
      await sleep(2);
    }
    return this.received;
  }

  /** Received datagrams not yet fed to quiche. */
  get unfed(): Buffer[] {
    return this.received.slice(this.next);
  }

  /** Stops listening and closes the socket. */
  close(): void {
    this.socket.off('message', this.onMessage);
    closeAll(this.socket);
  }
}
