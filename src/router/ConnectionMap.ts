import type { Incoming } from '../socket/Incoming';
import { ChurnMap } from '../util/ChurnMap';
import { cidKey, dcidOf, isLongHeader } from './connectionId';

/**
 * Where the router hands a connection its packets: the connection's inbox.
 */
export interface ConnectionRoute {
  /** Takes one packet (or GRO batch) for this connection. Must not throw. */
  deliver(incoming: Incoming): void;
}

/**
 * Every connection ID a socket's connections own, mapped to the connection: tokio-quiche's
 * `ConnectionMap`.
 *
 * Several IDs map to one connection (its current and spare source IDs, and on a server the
 * client's original destination ID until the handshake completes). IDs may differ in length:
 * for short headers, which do not carry the length, each length in use is tried.
 */
export class ConnectionMap {
  // CID key -> the connection owning it.
  private readonly routes = new ChurnMap<string, ConnectionRoute>();
  // CID length -> how many mapped IDs have it; short headers are looked up once per length.
  private readonly lengths = new Map<number, number>();

  /** How many connection IDs are mapped. */
  get size(): number {
    return this.routes.size;
  }

  /** Maps `cid` to `route`, replacing any earlier owner. */
  map(cid: Uint8Array, route: ConnectionRoute): void {
    const key = cidKey(cid);
    if (!this.routes.has(key)) this.lengths.set(cid.length, (this.lengths.get(cid.length) ?? 0) + 1);
    this.routes.set(key, route);
  }

  /** Forgets `cid`; a no-op for an ID that is not mapped. */
  unmap(cid: Uint8Array): void {
    if (!this.routes.delete(cidKey(cid))) return;
    const n = (this.lengths.get(cid.length) ?? 1) - 1;
    if (n === 0) this.lengths.delete(cid.length);
    else this.lengths.set(cid.length, n);
  }

  /** Whether `cid` is mapped. */
  has(cid: Uint8Array): boolean {
    return this.routes.has(cidKey(cid));
  }

  /**
   * Finds the connection a datagram is for.
   *
   * @returns The route, or `undefined` when no connection owns the datagram's DCID (or the
   * datagram is too short to carry one).
   */
  lookup(buf: Uint8Array): ConnectionRoute | undefined {
    if (isLongHeader(buf)) {
      const dcid = dcidOf(buf, 0);
      return dcid ? this.routes.get(cidKey(dcid)) : undefined;
    }
    for (const length of this.lengths.keys()) {
      const dcid = dcidOf(buf, length);
      const route = dcid && this.routes.get(cidKey(dcid));
      if (route) return route;
    }
    return undefined;
  }
}
