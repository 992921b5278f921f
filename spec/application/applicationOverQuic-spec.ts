import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import type { ConnectionResult } from '../../src/application/ApplicationOverQuic';
import { applicationOverQuic } from '../../src/application/operators/applicationOverQuic';
import type { InitialQuicConnection } from '../../src/connection/InitialQuicConnection';
import { connectionCloseFrame } from '../../src/testing/FakeFrame';
import { fakeIncoming, fakePacket } from '../../src/testing/fakeIncoming';
import { FakeApplication, fakeInitialConnection, type FakeInitialConnection } from '../helpers/fakeWorker';
import { callsTo, cid, observableMatcher } from '../helpers/marbles';

const packet = () => fakeIncoming(fakePacket(cid(0x01), []));

/** @test {applicationOverQuic} */
describe('applicationOverQuic', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  /** Two accepted connections and an application for each, keyed by the connection's name. */
  function twoConnections() {
    const conns: Record<'a' | 'b', FakeInitialConnection> = {
      a: fakeInitialConnection({ conn: { established: true, scid: cid(0xa1) } }),
      b: fakeInitialConnection({ conn: { established: true, scid: cid(0xb1) } }),
    };
    const apps = new Map<InitialQuicConnection, FakeApplication>();
    const createApp = (iqc: InitialQuicConnection): FakeApplication => {
      const name = iqc === conns.a.iqc ? 'a' : 'b';
      const app = new FakeApplication(conns[name].calls);
      apps.set(iqc, app);
      return app;
    };
    return { conns, apps, createApp };
  }

  it('starts each accepted connection and emits its handle when its application starts', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const { conns, createApp } = twoConnections();
      const iqc$ = hot('     -a--b---', { a: conns.a.iqc, b: conns.b.iqc });
      const iqcSubs = '      ^-------';
      const expected = '     -a--b---';

      const started$ = iqc$.pipe(
        applicationOverQuic(createApp),
        map((handle) => (handle.scid[0] === 0xa1 ? 'a' : 'b')),
      );

      expectObservable(started$).toBe(expected);
      expectSubscriptions(iqc$.subscriptions).toBe(iqcSubs);
    });
  });

  it('keeps the stream and the other connections running when one connection fails', async () => {
    const results: Promise<ConnectionResult>[] = [];
    let conns!: Record<'a' | 'b', FakeInitialConnection>;
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const two = twoConnections();
      conns = two.conns;
      const iqc$ = hot('     -a--b-------', { a: conns.a.iqc, b: conns.b.iqc });
      const iqcSubs = '      ^-----------';
      const toA = hot('      ------x-----', { x: packet() });
      const toB = hot('      ---------y--', { y: packet() });
      const expected = '     -a--b-------';

      toA.subscribe((p) => conns.a.inbox.deliver(p));
      toB.subscribe((p) => conns.b.inbox.deliver(p));
      // a's application fails on its first packet.
      const createApp = (iqc: InitialQuicConnection): FakeApplication => {
        const app = two.createApp(iqc);
        if (iqc === conns.a.iqc) {
          app.on.processReads = (conn) => {
            if (conn.callNames('recv').length > 0) throw new Error('a broke');
          };
        }
        return app;
      };

      const started$ = iqc$.pipe(
        applicationOverQuic(createApp),
        map((handle) => {
          results.push(handle.result);
          return handle.scid[0] === 0xa1 ? 'a' : 'b';
        }),
      );

      expectObservable(started$).toBe(expected);
      expectSubscriptions(iqc$.subscriptions).toBe(iqcSubs);
    });

    // a closed with INTERNAL_ERROR; b read its packet afterwards and is still open.
    expect(callsTo(conns.a.calls, 'close')).toEqual([[6, false, 0x1, '']]);
    expect(conns.a.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x1 })]);
    expect(callsTo(conns.b.calls, 'recv').map(([at]) => at)).toEqual([9]);
    expect(callsTo(conns.b.calls, 'close')).toEqual([]);
    const a = await results[0]!;
    expect(!a.ok && a.error.code).toBe('ApplicationError');
  });

  it('rejects a connection whose application cannot be created, and only that one', () => {
    let conns!: Record<'a' | 'b', FakeInitialConnection>;
    testScheduler.run(({ hot, expectObservable }) => {
      const two = twoConnections();
      conns = two.conns;
      const iqc$ = hot('     -a--b---', { a: conns.a.iqc, b: conns.b.iqc });
      const expected = '     ----b---';

      const createApp = (iqc: InitialQuicConnection): FakeApplication => {
        if (iqc === conns.a.iqc) throw new Error('no application for a');
        return two.createApp(iqc);
      };

      expectObservable(iqc$.pipe(applicationOverQuic(createApp), map(() => 'b'))).toBe(expected);
    });

    // CONNECTION_REFUSED for a; b untouched.
    expect(conns.a.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x2 })]);
    expect(conns.a.claims()).toBe(1);
    expect(callsTo(conns.b.calls, 'close')).toEqual([]);
  });

  it('closes every connection with NO_ERROR and stops listening when unsubscribed', () => {
    let conns!: Record<'a' | 'b', FakeInitialConnection>;
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const two = twoConnections();
      conns = two.conns;
      const iqc$ = hot('     -a--b-------', { a: conns.a.iqc, b: conns.b.iqc });
      const iqcSubs = '      ^------!';
      const unsub = '        -------!';
      const expected = '     -a--b---';

      const started$ = iqc$.pipe(
        applicationOverQuic(two.createApp),
        map((handle) => (handle.scid[0] === 0xa1 ? 'a' : 'b')),
      );

      expectObservable(started$, unsub).toBe(expected);
      expectSubscriptions(iqc$.subscriptions).toBe(iqcSubs);
    });

    for (const c of [conns.a, conns.b]) {
      expect(callsTo(c.calls, 'close')).toEqual([[7, true, 0, '']]);
      expect(c.sender.frames()).toEqual([connectionCloseFrame({ isApp: true, errorCode: 0 })]);
      expect(c.cids.mapped).toEqual(new Set());
    }
  });

  it('completes when the listener completes and the last connection has closed', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { conns, createApp } = twoConnections();
      const iqc$ = hot('     -a--b--|', { a: conns.a.iqc, b: conns.b.iqc });
      const closeA = hot('   ---c----------', { c: fakeIncoming(fakePacket(cid(0xa1), connectionCloseFrame())) });
      const closeB = hot('   -----------c--', { c: fakeIncoming(fakePacket(cid(0xb1), connectionCloseFrame())) });
      const expected = '     -a--b------|';

      closeA.subscribe((p) => conns.a.inbox.deliver(p));
      closeB.subscribe((p) => conns.b.inbox.deliver(p));

      expectObservable(
        iqc$.pipe(
          applicationOverQuic(createApp),
          map((handle) => (handle.scid[0] === 0xa1 ? 'a' : 'b')),
        ),
      ).toBe(expected);
    });
  });
});
