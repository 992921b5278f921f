import type { RemoteInfo, Socket } from 'node:dgram';

import type { SocketAddress } from '../../src/socket/Incoming';
import { bindUdp, closeAll } from './loopback';

/**
 * A NAT in front of one client, for passive migration (NAT rebinding): the client sends to
 * {@link address}, and the NAT forwards to the server from its current outside port. After
 * {@link rebind} it uses a new outside port, so the server sees the same connection arrive from a
 * new address while the client notices nothing. Replies to the current outside port go back to
 * the client; the old mapping is gone (its socket is closed), as on a real NAT.
 */
export class NatRebinder {
  /** Every outside port used so far, in order. */
  readonly outsidePorts: number[] = [];
  /** Datagrams forwarded each way. */
  forwarded = { toServer: 0, toClient: 0 };
  private client: RemoteInfo | null = null;
  private outside!: Socket;

  private constructor(
    private readonly inside: Socket,
    server: SocketAddress,
  ) {
    inside.on('message', (buf, rinfo) => {
      this.client = rinfo;
      this.forwarded.toServer++;
      this.outside.send(buf, server.port, server.address);
    });
  }

  /** Starts a NAT in front of `server`. */
  static async start(server: SocketAddress): Promise<NatRebinder> {
    const nat = new NatRebinder(await bindUdp(), server);
    await nat.rebind();
    return nat;
  }

  /** Where the client sends: the NAT's inside address. */
  get address(): SocketAddress {
    const a = this.inside.address();
    return { address: a.address, port: a.port };
  }

  /** Moves to a new outside port; the old one stops working. */
  async rebind(): Promise<void> {
    const old = this.outside as Socket | undefined;
    const outside = await bindUdp();
    outside.on('message', (buf) => {
      if (this.outside !== outside || !this.client) return;
      this.forwarded.toClient++;
      this.inside.send(buf, this.client.port, this.client.address);
    });
    this.outside = outside;
    this.outsidePorts.push(outside.address().port);
    if (old) closeAll(old);
  }

  close(): void {
    closeAll(this.inside, this.outside);
  }
}
