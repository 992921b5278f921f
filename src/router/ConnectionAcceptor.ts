import type { Observable, SchedulerLike } from 'rxjs';

import { HandshakeInfo } from '../connection/HandshakeInfo';
import { InitialQuicConnection } from '../connection/InitialQuicConnection';
import { type ConnectionLogs, openConnectionLogs } from '../connection/ConnectionLogs';
import type { Metrics } from '../metrics/Metrics';
import type { QlogCompression } from '../settings/QlogCompression';
import { napi } from '../native/binding';
import type { DatagramSender } from '../socket/DatagramSender';
import type { Incoming } from '../socket/Incoming';
import type { AddressValidationTokens } from './AddressValidationTokens';
import { ConnectionInbox } from './ConnectionInbox';
import type { ConnectionIdGenerator } from './ConnectionIdGenerator';
import { cidHex, longHeaderInvariants } from './connectionId';
import type { ConnectionMap } from './ConnectionMap';

/**
 * What the acceptor needs from its listener.
 */
export interface ConnectionAcceptorParams {
  /** The server's QUIC configuration. */
  readonly config: napi.Config;
  /** The connection map of the socket. */
  readonly map: ConnectionMap;
  /** The socket's send half (Retry and version negotiation replies, and the connections'). */
  readonly sender: DatagramSender;
  /** Makes our source connection IDs. */
  readonly generator: ConnectionIdGenerator;
  /** Retry tokens; `null` turns address validation off (tokio-quiche's `disable_client_ip_validation`). */
  readonly tokens: AddressValidationTokens | null;
  /** Accepted connections not yet started, at most. */
  readonly backlog: number;
  /** Handshake timeout in ms, if any. */
  readonly handshakeTimeout?: number;
  /** Writes one qlog file per connection here, if set. */
  readonly qlogDir?: string;
  /** How qlog files are compressed. Defaults to `'none'`. */
  readonly qlogCompression?: QlogCompression;
  /** Appends TLS secrets here, if set (the config must log keys). */
  readonly keylogFile?: string;
  /** Counters. */
  readonly metrics: Metrics;
  /** The routed socket stream each connection keeps subscribed while it lives. */
  readonly keepAlive$: Observable<unknown>;
  readonly stepScheduler?: SchedulerLike;
  readonly timerScheduler?: SchedulerLike;
  /** The clock for handshake timing. */
  readonly now: () => number;
}

/**
 * Decides what to do with a datagram no connection owns, on a server: tokio-quiche's
 * `ConnectionAcceptor`.
 *
 * In order: a datagram that is not a parsable long-header Initial is dropped and counted; an
 * unsupported version gets a version negotiation reply; without a token (and with validation on)
 * a stateless Retry carrying an address-validation token is sent; a token that fails validation
 * (forged, other address, expired) is dropped silently; otherwise, if the backlog has room, a new
 * connection is accepted and returned. Nothing here throws for anything a peer sends.
 */
export class ConnectionAcceptor {
  // Accepted connections not yet started, handshaken or rejected.
  private pending = 0;
  private readonly scratch = new Uint8Array(1500);

  constructor(private readonly params: ConnectionAcceptorParams) {}

  /**
   * Handles one datagram with an unknown DCID.
   *
   * @returns A new connection, or `null` when the datagram was answered statelessly or dropped.
   */
  handleInitial(incoming: Incoming): InitialQuicConnection | null {
    const p = this.params;
    // The version decides how the rest of the header reads (RFC 8999), so a version we do not speak
    // gets version negotiation from the invariant fields alone, whatever its type bits and body
    // say (e.g. a QUIC v2 Initial, or a future version's packet whose body does not parse as v1).
    const invariants = longHeaderInvariants(incoming.buf);
    if (invariants !== null && invariants.version !== 0 && !napi.versionIsSupported(invariants.version)) {
      // RFC 9000 §5.2.2 / §14.1: only answer datagrams of a full Initial's size, so a tiny probe
      // cannot make us reflect a larger reply.
      if (incoming.buf.length < 1200) {
        p.metrics.rejectedPacket('failedToParse');
        return null;
      }
      try {
        const n = napi.negotiateVersion(invariants.scid, invariants.dcid, this.scratch);
        p.sender.sendTo(this.scratch.subarray(0, n), incoming.peer);
        p.metrics.versionNegotiationSent();
      } catch {
        p.metrics.rejectedPacket('unexpected');
      }
      return null;
    }
    let header: napi.Header;
    try {
      header = napi.parseHeader(incoming.buf, p.generator.length);
    } catch {
      p.metrics.rejectedPacket('failedToParse');
      return null;
    }
    if (header.type !== 'initial') {
      try {
        p.generator.verifyConnectionId(header.dcid);
      } catch {
        // Counted apart in tokio-quiche as invalid_cid_packet_count; here it is one reason.
      }
      p.metrics.rejectedPacket('wrongType');
      return null;
    }
    // RFC 9000 §14.1: a client Initial arrives in a datagram of at least 1200 bytes.
    if (incoming.buf.length < 1200) {
      p.metrics.rejectedPacket('failedToParse');
      return null;
    }

    let odcid: Uint8Array | null = null;
    if (p.tokens) {
      const token = header.token;
      if (!token || token.length === 0) {
        this.sendRetry(incoming, header);
        return null;
      }
      odcid = p.tokens.validate(incoming.peer, token);
      if (!odcid) {
        p.metrics.rejectedPacket('tokenValidationFail');
        return null;
      }
    }
    if (this.pending >= p.backlog) {
      // The client retransmits its Initial; by then a slot may be free.
      p.metrics.rejectedPacket('acceptQueueOverflow');
      return null;
    }
    return this.accept(incoming, header, odcid);
  }

  private sendRetry(incoming: Incoming, header: napi.Header): void {
    const p = this.params;
    const newScid = p.generator.newConnectionId();
    const token = p.tokens!.mint(incoming.peer, header.dcid);
    try {
      const n = napi.retry(header.scid, header.dcid, newScid, token, header.version, this.scratch);
      p.sender.sendTo(this.scratch.subarray(0, n), incoming.peer);
      p.metrics.retrySent();
    } catch {
      p.metrics.rejectedPacket('unexpected');
    }
  }

  private accept(incoming: Incoming, header: napi.Header, odcid: Uint8Array | null): InitialQuicConnection | null {
    const p = this.params;
    const scid = p.generator.newConnectionId();
    let conn: napi.Connection;
    let logs: ConnectionLogs;
    try {
      conn = odcid
        ? napi.Connection.accept(scid, odcid, incoming.local, incoming.peer, p.config, header.dcid)
        : napi.Connection.accept(scid, null, incoming.local, incoming.peer, p.config);
      logs = openConnectionLogs(conn, {
        ...(p.qlogDir !== undefined ? { qlogDir: p.qlogDir } : {}),
        ...(p.qlogCompression !== undefined ? { qlogCompression: p.qlogCompression } : {}),
        ...(p.keylogFile !== undefined ? { keylogFile: p.keylogFile } : {}),
        scidHex: cidHex(scid),
      });
    } catch {
      p.metrics.rejectedPacket('unexpected');
      return null;
    }

    const inbox = new ConnectionInbox(2048, p.metrics);
    // The client keeps sending to its chosen DCID (or to our Retry's SCID) until it learns ours.
    const pendingCid = Uint8Array.from(header.dcid);
    p.map.map(scid, inbox);
    p.map.map(pendingCid, inbox);
    inbox.deliver(incoming);
    this.pending++;
    p.metrics.acceptedInitialPacket();
    p.metrics.connectionOpened();
    let claimed = false;
    return new InitialQuicConnection({
      conn,
      inbox,
      sender: p.sender,
      // A Retry token that checked out validated the address; otherwise the 3× limit applies.
      addressValidated: odcid !== null,
      localAddr: incoming.local,
      peerAddr: incoming.peer,
      handshakeInfo: new HandshakeInfo(p.now(), p.handshakeTimeout),
      metrics: p.metrics,
      cids: {
        map: (cid) => p.map.map(cid, inbox),
        unmap: (cid) => p.map.unmap(cid),
        generator: p.generator,
        pendingCid,
      },
      keepAlive$: p.keepAlive$,
      onClosed: () => logs.close(),
      onClaim: () => {
        if (!claimed) {
          claimed = true;
          this.pending--;
        }
      },
      ...(p.stepScheduler ? { stepScheduler: p.stepScheduler } : {}),
      ...(p.timerScheduler ? { timerScheduler: p.timerScheduler } : {}),
    });
  }
}
