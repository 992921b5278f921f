import { TestScheduler } from 'rxjs/testing';

import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { ConnectionInbox } from '../../src/router/ConnectionInbox';
import { ConnectionMap } from '../../src/router/ConnectionMap';
import { routeByConnectionId } from '../../src/router/routeByConnectionId';
import { fakeIncoming, longHeaderPacket, shortHeaderPacket } from '../../src/testing/fakeIncoming';
import { cid, observableMatcher } from '../helpers/marbles';

const A = cid(0xa1);
const A2 = cid(0xa2, 20);
const B = cid(0xb1, 20);
const X = cid(0xee);

/** @test {routeByConnectionId} */
describe('routeByConnectionId', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('hands each datagram to the connection owning its DCID and emits those no connection owns', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = {
        a: fakeIncoming(shortHeaderPacket(A)),
        b: fakeIncoming(longHeaderPacket({ type: 'handshake', dcid: B })),
        c: fakeIncoming(longHeaderPacket({ type: 'initial', dcid: A, padTo: 1200 })),
        x: fakeIncoming(shortHeaderPacket(X)),
        y: fakeIncoming(longHeaderPacket({ type: 'initial', dcid: X, padTo: 1200 })),
      };
      const incoming$ = hot(' -a-b-x-c-y-|', values);
      const incomingSubs = '  ^----------!';
      const unknown = '       -----x---y-|';
      const toA = '           -a-----c----';
      const toB = '           ---b--------';

      const map = new ConnectionMap();
      const inboxA = new ConnectionInbox();
      const inboxB = new ConnectionInbox();
      map.map(A, inboxA);
      map.map(B, inboxB);

      expectObservable(inboxA.packet$).toBe(toA, values);
      expectObservable(inboxB.packet$).toBe(toB, values);
      expectObservable(incoming$.pipe(routeByConnectionId(map))).toBe(unknown, values);
      expectSubscriptions(incoming$.subscriptions).toBe(incomingSubs);
    });
  });

  it('routes short headers whatever the length of the CID, and every CID of a connection to it', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const values = {
        a: fakeIncoming(shortHeaderPacket(A)),
        d: fakeIncoming(shortHeaderPacket(A2)),
        b: fakeIncoming(shortHeaderPacket(B)),
        e: fakeIncoming(longHeaderPacket({ type: 'handshake', dcid: A2 })),
      };
      const incoming$ = hot(' -a-d-b-e-|', values);
      const unknown = '       ---------|';
      const toA = '           -a-d---e--';
      const toB = '           -----b----';

      const map = new ConnectionMap();
      const inboxA = new ConnectionInbox();
      const inboxB = new ConnectionInbox();
      // Connection A owns an 8-byte and a 20-byte CID; B a 20-byte one.
      map.map(A, inboxA);
      map.map(A2, inboxA);
      map.map(B, inboxB);

      expectObservable(inboxA.packet$).toBe(toA, values);
      expectObservable(inboxB.packet$).toBe(toB, values);
      expectObservable(incoming$.pipe(routeByConnectionId(map))).toBe(unknown, values);
    });
  });

  it('follows the map as connections map and unmap CIDs', () => {
    testScheduler.run(({ hot, expectObservable, time }) => {
      const values = { x: fakeIncoming(shortHeaderPacket(X)) };
      const incoming$ = hot(' -x---x---x-|', values);
      const mapAt = time('    ---|');
      const unmapAt = time('  -------|');
      const unknown = '       -x-------x-|';
      const toX = '           -----x------';

      const map = new ConnectionMap();
      const inbox = new ConnectionInbox();
      testScheduler.schedule(() => map.map(X, inbox), mapAt);
      testScheduler.schedule(() => map.unmap(X), unmapAt);

      expectObservable(inbox.packet$).toBe(toX, values);
      expectObservable(incoming$.pipe(routeByConnectionId(map))).toBe(unknown, values);
    });
  });

  it('passes on a malformed long header (the acceptor judges it)', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      // A DCID length of 255: longer than QUIC v1 allows, so no connection can own it.
      const bad = fakeIncoming(Uint8Array.from([0xc0, 0, 0, 0, 1, 0xff, ...Buffer.alloc(40, 1)]));
      const incoming$ = hot(' -m-|', { m: bad });
      const unknown = '       -m-|';

      const map = new ConnectionMap();
      map.map(A, new ConnectionInbox());

      expectObservable(incoming$.pipe(routeByConnectionId(map))).toBe(unknown, { m: bad });
    });
  });

  it('drops and counts datagrams too short to hold a QUIC header', () => {
    const metrics = new DefaultMetrics();
    testScheduler.run(({ hot, expectObservable }) => {
      const values = {
        e: fakeIncoming(new Uint8Array(0)),
        l: fakeIncoming(Uint8Array.from([0xc0, 0, 0, 0])),
        m: fakeIncoming(Uint8Array.from([0xc0, 0, 0, 0, 1, 8])),
        x: fakeIncoming(shortHeaderPacket(X)),
      };
      const incoming$ = hot(' -e-l-m-x-|', values);
      const unknown = '       -------x-|';

      const map = new ConnectionMap();
      expectObservable(incoming$.pipe(routeByConnectionId(map, metrics))).toBe(unknown, values);
    });

    expect(metrics.rejectedPackets.failedToParse).toBe(3);
  });

  // Bug: routeByConnectionId only drops short datagrams that are empty or start with a long
  // header (`buf.length < 7 && (empty || long)`). A 1-byte short-header datagram cannot hold a
  // QUIC header either (its DCID and packet number are missing), yet it is emitted as an unknown
  // DCID: on a client, connectWithConfig$ then counts it as `unknownConnectionId`, not as
  // `failedToParse` as the operator's documentation says.
  it('drops and counts a short-header datagram too short to hold a header', () => {
    const metrics = new DefaultMetrics();
    testScheduler.run(({ hot, expectObservable }) => {
      const values = { s: fakeIncoming(Uint8Array.from([0x40])) };
      const incoming$ = hot(' -s-|', values);
      const unknown = '       ---|';

      expectObservable(incoming$.pipe(routeByConnectionId(new ConnectionMap(), metrics))).toBe(unknown, values);
    });

    expect(metrics.rejectedPackets.failedToParse).toBe(1);
  });

  it('unsubscribes from the socket when unsubscribed', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = { x: fakeIncoming(shortHeaderPacket(X)) };
      const incoming$ = hot(' -x---x---x-|', values);
      const incomingSubs = '  ^-----!';
      const unsub = '         ------!';
      const unknown = '       -x---x--';

      expectObservable(incoming$.pipe(routeByConnectionId(new ConnectionMap())), unsub).toBe(unknown, values);
      expectSubscriptions(incoming$.subscriptions).toBe(incomingSubs);
    });
  });

  it('passes on the socket\'s error', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { x: fakeIncoming(shortHeaderPacket(X)) };
      const failure = new Error('socket closed under us');
      const incoming$ = cold(' -x--#', values, failure);
      const incomingSubs = '   ^---!';
      const unknown = '        -x--#';

      expectObservable(incoming$.pipe(routeByConnectionId(new ConnectionMap()))).toBe(unknown, values, failure);
      expectSubscriptions(incoming$.subscriptions).toBe(incomingSubs);
    });
  });
});
