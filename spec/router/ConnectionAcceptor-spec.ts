import { map, NEVER } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import { InitialQuicConnection } from '../../src/connection/InitialQuicConnection';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { napi } from '../../src/native/binding';
import { AddressValidationTokens } from '../../src/router/AddressValidationTokens';
import { ConnectionAcceptor, type ConnectionAcceptorParams } from '../../src/router/ConnectionAcceptor';
import { ConnectionMap } from '../../src/router/ConnectionMap';
import { routeByConnectionId } from '../../src/router/routeByConnectionId';
import type { Incoming, SocketAddress } from '../../src/socket/Incoming';
import { FakeDatagramSender } from '../../src/testing/FakeDatagramSender';
import { fakeIncoming, longHeaderPacket, shortHeaderPacket } from '../../src/testing/fakeIncoming';
import { SequenceCidGenerator } from '../helpers/fakeWorker';
import { cid, observableMatcher } from '../helpers/marbles';

const CLIENT: SocketAddress = { address: '127.0.0.1', port: 50_001 };
const SERVER: SocketAddress = { address: '127.0.0.1', port: 4_433 };
const CID_LEN = 16;

// One certificate for the file: generating keys costs a few milliseconds.
const certificate = napi.generateCertificate({ subjectAltNames: ['localhost'] });
const serverConfig = new napi.Config({ alpn: ['echo'], certChain: certificate.cert, privateKey: certificate.key });
const clientConfig = new napi.Config({ alpn: ['echo'], verifyPeer: false });

/** Everything quiche has ready on `conn`, one datagram each. */
function drain(conn: napi.Connection): Buffer[] {
  const out = new Uint8Array(65_536);
  const lengths = new Uint32Array(64);
  const datagrams: Buffer[] = [];
  for (let batch = conn.send(out, lengths, false); batch !== null; batch = conn.send(out, lengths, false)) {
    let offset = 0;
    for (let i = 0; i < batch.count; i++) {
      datagrams.push(Buffer.from(out.subarray(offset, offset + lengths[i]!)));
      offset += lengths[i]!;
    }
  }
  return datagrams;
}

/** A real quiche client and the first datagram of its first flight (a padded Initial). */
function realClient(): { client: napi.Connection; initial: Buffer } {
  const client = napi.Connection.connect('localhost', cid(0x5c, CID_LEN), CLIENT, SERVER, clientConfig);
  const [initial] = drain(client);
  return { client, initial: initial! };
}

/** The client's Initial after it received our Retry: it carries the token. */
function initialAfterRetry(client: napi.Connection, retry: Uint8Array): Buffer {
  client.recv(retry, SERVER, CLIENT);
  return drain(client)[0]!;
}

/** An incoming datagram from the client to the server. */
function fromClient(buf: Uint8Array, peer: SocketAddress = CLIENT): Incoming {
  return fakeIncoming(buf, { peer, local: SERVER });
}

function acceptor(overrides: Partial<ConnectionAcceptorParams> = {}) {
  const metrics = new DefaultMetrics();
  const sender = new FakeDatagramSender();
  const connections = new ConnectionMap();
  const params: ConnectionAcceptorParams = {
    config: serverConfig,
    map: connections,
    sender,
    generator: new SequenceCidGenerator(CID_LEN),
    tokens: new AddressValidationTokens(),
    backlog: 16,
    metrics,
    keepAlive$: NEVER,
    now: () => 0,
    ...overrides,
  };
  return { acceptor: new ConnectionAcceptor(params), metrics, sender, connections, params };
}

/** @test {ConnectionAcceptor} */
describe('ConnectionAcceptor', () => {
  describe('drops, counted', () => {
    it.each([
      ['a short-header packet', shortHeaderPacket(cid(0xee, CID_LEN))],
      ['a Handshake packet', longHeaderPacket({ type: 'handshake', dcid: cid(0xee, CID_LEN), padTo: 1200 })],
      ['a 0-RTT packet', longHeaderPacket({ type: 'zeroRtt', dcid: cid(0xee, CID_LEN), padTo: 1200 })],
    ])('%s for an unknown connection as wrongType', (_name, datagram) => {
      const { acceptor: a, metrics, sender, connections } = acceptor();

      expect(a.handleInitial(fromClient(datagram))).toBeNull();
      expect(metrics.rejectedPackets.wrongType).toBe(1);
      expect(sender.datagrams).toEqual([]);
      expect(connections.size).toBe(0);
    });

    it('junk as failedToParse', () => {
      const { acceptor: a, metrics, sender } = acceptor();

      expect(a.handleInitial(fromClient(Uint8Array.from([0xc0, 0, 0, 0, 1, 0xff, 1, 2, 3])))).toBeNull();
      expect(metrics.rejectedPackets.failedToParse).toBe(1);
      expect(sender.datagrams).toEqual([]);
    });

    it('an Initial in a datagram shorter than 1200 bytes as failedToParse', () => {
      const { acceptor: a, metrics, sender } = acceptor();
      const { initial } = realClient();

      expect(a.handleInitial(fromClient(initial.subarray(0, 1_100)))).toBeNull();
      expect(metrics.rejectedPackets.failedToParse).toBe(1);
      expect(sender.datagrams).toEqual([]);
    });
  });

  describe('version negotiation', () => {
    it('answers an Initial of an unsupported version with the versions we speak, statelessly', () => {
      const { acceptor: a, metrics, sender, connections } = acceptor();
      const { client, initial } = realClient();
      const odcid = napi.parseHeader(initial, CID_LEN).dcid;
      const unknownVersion = Buffer.from(initial);
      unknownVersion.writeUInt32BE(0x1a2a3a4a, 1);

      expect(a.handleInitial(fromClient(unknownVersion))).toBeNull();

      expect(sender.replies).toHaveLength(1);
      expect(sender.replies[0]!.to).toEqual(CLIENT);
      const reply = napi.parseHeader(sender.replies[0]!.buf, CID_LEN);
      expect(reply.type).toBe('versionNegotiation');
      expect(reply.versions).toContain(napi.PROTOCOL_VERSION);
      // The reply swaps the client's connection IDs.
      expect(reply.dcid).toEqual(client.sourceId());
      expect(reply.scid).toEqual(odcid);
      expect(metrics.versionNegotiationsSent).toBe(1);
      expect(connections.size).toBe(0);
    });
    // Bug (tokio-quiche's acceptor has the same order): handleInitial checks the packet type before
    // the version, but long-header type bits are version-specific (RFC 8999 §5.1). A QUIC v2
    // client's Initial has type bits 0b01 (RFC 9369 §3.2), which parse as 0-RTT: it is counted as
    // wrongType and gets no Version Negotiation, so a client trying v2 first never learns to use v1.
    it('answers an Initial of QUIC v2 (type bits 0b01) with version negotiation', () => {
      const { acceptor: a, metrics, sender } = acceptor();
      const v2Initial = longHeaderPacket({ type: 'zeroRtt', version: 0x6b3343cf, dcid: cid(0xd2, CID_LEN), padTo: 1200 });

      expect(a.handleInitial(fromClient(v2Initial))).toBeNull();

      expect(sender.replies).toHaveLength(1);
      expect(napi.parseHeader(sender.replies[0]!.buf, CID_LEN).type).toBe('versionNegotiation');
      expect(metrics.versionNegotiationsSent).toBe(1);
    });

    // Bug: RFC 9000 §5.2.2 says "Servers MUST drop smaller packets that specify unsupported
    // versions" (smaller than a client's first datagram, 1200 bytes). handleInitial sends the
    // Version Negotiation before its 1200-byte check, so any spoofed 25-byte probe is answered
    // with a larger packet: a reflection amplifier.
    it('drops, unanswered, a datagram under 1200 bytes with an unsupported version', () => {
      const { acceptor: a, metrics, sender } = acceptor();
      const probe = longHeaderPacket({ version: 0x1a2a3a4a, dcid: cid(0xd3), payload: Buffer.alloc(0) });

      expect(a.handleInitial(fromClient(probe))).toBeNull();

      expect(sender.replies).toEqual([]);
      expect(metrics.versionNegotiationsSent).toBe(0);
    });

    it('answers a padded Initial of an unknown version built by hand', () => {
      const { acceptor: a, sender } = acceptor();
      const probe = longHeaderPacket({ version: 0x1a2a3a4a, dcid: cid(0xd4), scid: cid(0x5d), padTo: 1200 });

      expect(a.handleInitial(fromClient(probe))).toBeNull();

      const reply = napi.parseHeader(sender.replies[0]!.buf, CID_LEN);
      expect(reply).toMatchObject({ type: 'versionNegotiation', dcid: cid(0x5d), scid: cid(0xd4) });
    });
  });

  describe('address validation', () => {
    it('answers an Initial without a token with a Retry whose token carries the original DCID', () => {
      const tokens = new AddressValidationTokens();
      const { acceptor: a, metrics, sender, connections } = acceptor({ tokens });
      const { client, initial } = realClient();
      const odcid = napi.parseHeader(initial, CID_LEN).dcid;

      expect(a.handleInitial(fromClient(initial))).toBeNull();

      expect(sender.replies).toHaveLength(1);
      const retry = napi.parseHeader(sender.replies[0]!.buf, CID_LEN);
      expect(retry.type).toBe('retry');
      expect(retry.dcid).toEqual(client.sourceId());
      // The Retry's SCID is the next ID from our generator.
      expect(retry.scid).toEqual(cid(0xc1, CID_LEN));
      expect(Buffer.from(tokens.validate(CLIENT, retry.token!)!)).toEqual(odcid);
      expect(metrics.retriesSent).toBe(1);
      // Stateless: nothing is kept for the client until it comes back with the token.
      expect(connections.size).toBe(0);
    });

    it('accepts the Initial that comes back with a valid token, mapping both CIDs', () => {
      const { acceptor: a, metrics, sender, connections } = acceptor();
      const { client, initial } = realClient();
      a.handleInitial(fromClient(initial));
      const second = initialAfterRetry(client, sender.replies[0]!.buf);
      expect(napi.parseHeader(second, CID_LEN).token!.length).toBeGreaterThan(0);

      const iqc = a.handleInitial(fromClient(second));

      expect(iqc).toBeInstanceOf(InitialQuicConnection);
      expect(iqc!.peerAddr).toEqual(CLIENT);
      expect(iqc!.localAddr).toEqual(SERVER);
      // Our SCID (the generator's second ID) and the Retry SCID the client now sends to.
      expect(Buffer.from(iqc!.scid)).toEqual(cid(0xc2, CID_LEN));
      expect(connections.has(cid(0xc2, CID_LEN))).toBe(true);
      expect(connections.has(cid(0xc1, CID_LEN))).toBe(true);
      expect(connections.size).toBe(2);
      // The Initial waits in the new connection's inbox.
      expect(connections.lookup(second)).toBeDefined();
      expect(metrics.acceptedInitialPackets).toBe(1);
      expect(metrics.connectionsInMemory).toBe(1);
      expect(sender.replies).toHaveLength(1);
    });

    it.each([
      ['forged (a byte of its MAC changed)', (token: Buffer) => (token[12] = token[12]! ^ 0xff), CLIENT],
      ['presented from another address', () => undefined, { address: '127.0.0.2', port: CLIENT.port }],
    ])('drops an Initial whose token is %s, silently', (_name, tamper, from) => {
      const { acceptor: a, metrics, sender, connections } = acceptor();
      const { client, initial } = realClient();
      a.handleInitial(fromClient(initial));
      const second = initialAfterRetry(client, sender.replies[0]!.buf);
      const token = napi.parseHeader(second, CID_LEN).token!;
      tamper(second.subarray(second.indexOf(token), second.indexOf(token) + token.length));

      expect(a.handleInitial(fromClient(second, from))).toBeNull();

      expect(metrics.rejectedPackets.tokenValidationFail).toBe(1);
      expect(sender.replies).toHaveLength(1);
      expect(connections.size).toBe(0);
    });

    it('drops an Initial whose token has expired, silently', () => {
      let now = 0;
      const tokens = new AddressValidationTokens(1_000, () => now);
      const { acceptor: a, metrics, sender, connections } = acceptor({ tokens });
      const { client, initial } = realClient();
      a.handleInitial(fromClient(initial));
      const second = initialAfterRetry(client, sender.replies[0]!.buf);

      now = 1_001;
      expect(a.handleInitial(fromClient(second))).toBeNull();

      expect(metrics.rejectedPackets.tokenValidationFail).toBe(1);
      expect(sender.replies).toHaveLength(1);
      expect(connections.size).toBe(0);
    });

    it('accepts the first Initial when address validation is off', () => {
      const { acceptor: a, metrics, sender, connections } = acceptor({ tokens: null });
      const { initial } = realClient();
      const odcid = napi.parseHeader(initial, CID_LEN).dcid;

      const iqc = a.handleInitial(fromClient(initial));

      expect(iqc).toBeInstanceOf(InitialQuicConnection);
      expect(sender.replies).toEqual([]);
      expect(connections.has(odcid)).toBe(true);
      expect(connections.has(iqc!.scid)).toBe(true);
      expect(metrics.retriesSent).toBe(0);
    });
  });

  describe('backlog', () => {
    it('drops Initials past the backlog until a pending connection is started or rejected', () => {
      const { acceptor: a, metrics } = acceptor({ tokens: null, backlog: 1 });
      const first = realClient();
      const second = realClient();

      const iqc = a.handleInitial(fromClient(first.initial));
      expect(iqc).not.toBeNull();
      expect(a.handleInitial(fromClient(second.initial))).toBeNull();
      expect(metrics.rejectedPackets.acceptQueueOverflow).toBe(1);

      // Rejecting frees the slot (once: a second reject changes nothing).
      iqc!.reject();
      iqc!.reject();
      // The client retransmits its Initial.
      expect(a.handleInitial(fromClient(second.initial))).not.toBeNull();
      expect(a.handleInitial(fromClient(realClient().initial))).toBeNull();
      expect(metrics.rejectedPackets.acceptQueueOverflow).toBe(2);
    });
  });

  describe('behind the router', () => {
    let testScheduler: TestScheduler;

    beforeEach(() => {
      testScheduler = new TestScheduler(observableMatcher);
    });

    it('sees only datagrams no connection owns: Retry, accept, then the connection takes over', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const { acceptor: a, connections, sender } = acceptor();
        const { client, initial } = realClient();
        // Built lazily: the second Initial exists once the client has seen our Retry.
        let second!: Buffer;
        const wire$ = hot('      -i--s--s--|', {
          i: 'first',
          s: 'second',
        }).pipe(
          map((which) => {
            if (which === 'first') return fromClient(initial);
            second ??= initialAfterRetry(client, sender.replies[0]!.buf);
            return fromClient(second);
          }),
        );
        // r: Retry sent (null); c: a connection; the retransmission goes to the new connection.
        const decisions = '      -r--c-----|';

        const decided$ = wire$.pipe(
          routeByConnectionId(connections),
          map((incoming) => (a.handleInitial(incoming) === null ? 'r' : 'c')),
        );

        expectObservable(decided$).toBe(decisions);
      });
    });
  });
});
