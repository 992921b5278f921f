import { map, Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import type { ConnectionResult } from '../../src/application/ApplicationOverQuic';
import { QuicError } from '../../src/errors/QuicError';
import { connectionCloseFrame, handshakeDoneFrame } from '../../src/testing/FakeFrame';
import { fakeIncoming, fakePacket } from '../../src/testing/fakeIncoming';
import { FakeApplication, fakeInitialConnection, type FakeInitialConnection } from '../helpers/fakeWorker';
import { callsTo, cid, observableMatcher } from '../helpers/marbles';

const CID = cid(0x01);
const packet = () => fakeIncoming(fakePacket(CID, []));
const handshakeDone = () => fakeIncoming(fakePacket(CID, handshakeDoneFrame()));
const peerClose = () => fakeIncoming(fakePacket(CID, connectionCloseFrame({ isApp: true, errorCode: 0 })));

/** @test {InitialQuicConnection} */
describe('InitialQuicConnection', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  describe('run$', () => {
    it('emits the handle when the application starts and completes when the connection closes', () => {
      let f!: FakeInitialConnection;
      testScheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const wire$ = hot('       --h---c--', { h: handshakeDone(), c: peerClose() });
        const keepAlive$ = cold(' ---------');
        const keepAliveSubs = '   ^-----!--';
        const expected = '        --h---|';

        f = fakeInitialConnection({ conn: { established: false }, keepAlive$ });
        wire$.subscribe((p) => f.inbox.deliver(p));

        expectObservable(f.iqc.run$(new FakeApplication(f.calls)).pipe(map(() => 'h'))).toBe(expected);
        expectSubscriptions(keepAlive$.subscriptions).toBe(keepAliveSubs);
      });

      expect(f.claims()).toBe(1);
      expect(f.cids.mapped).toEqual(new Set());
    });

    it('hands out a handle describing the connection, whose result settles with how it ended', async () => {
      const handles: { scid: Uint8Array; result: Promise<ConnectionResult> }[] = [];
      testScheduler.run(({ hot, expectObservable }) => {
        const wire$ = hot('   ---a--', { a: packet() });
        const expected = '    h--#';

        const f = fakeInitialConnection({ conn: { established: true } });
        wire$.subscribe((p) => f.inbox.deliver(p));
        const app = new FakeApplication(f.calls);
        app.on.processReads = (conn) => {
          if (conn.callNames('recv').length > 0) throw new Error('boom');
        };

        const handle$ = f.iqc.run$(app).pipe(
          map((handle) => {
            handles.push(handle);
            return 'h';
          }),
        );
        expectObservable(handle$).toBe(expected, undefined, new QuicError('ApplicationError', 'application callback failed: boom'));
      });

      expect(handles).toHaveLength(1);
      const handle = handles[0]!;
      expect(Buffer.from(handle.scid)).toEqual(CID);
      const result = await handle.result;
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error.code).toBe('ApplicationError');
    });

    it('closes the connection when unsubscribed, flushing its CONNECTION_CLOSE before releasing the router', () => {
      const events: string[] = [];
      let f!: FakeInitialConnection;
      testScheduler.run(({ expectObservable }) => {
        const keepAlive$ = new Observable<never>(() => () => events.push('router released'));
        f = fakeInitialConnection({ conn: { established: true }, keepAlive$ });
        f.sender.datagrams$.subscribe(() => events.push('datagram sent'));

        expectObservable(f.iqc.run$(new FakeApplication(f.calls)).pipe(map(() => 'h')), '---!').toBe('h--');
      });

      expect(callsTo(f.calls, 'close')).toEqual([[3, true, 0, '']]);
      expect(f.sender.frames()).toEqual([connectionCloseFrame({ isApp: true, errorCode: 0 })]);
      expect(events).toEqual(['datagram sent', 'router released']);
    });

    it('errors with InvalidState when started a second time', () => {
      testScheduler.run(({ expectObservable }) => {
        const f = fakeInitialConnection({ conn: { established: true } });
        f.iqc.start(new FakeApplication(f.calls));

        expectObservable(f.iqc.run$(new FakeApplication())).toBe(
          '#',
          undefined,
          new QuicError('InvalidState', 'this InitialQuicConnection was already started or rejected'),
        );
      });
    });
  });

  describe('start', () => {
    it('runs the connection in the background and settles the handle\'s result when it closes', async () => {
      let result!: Promise<ConnectionResult>;
      let f!: FakeInitialConnection;
      testScheduler.run(({ hot }) => {
        const wire$ = hot('   --a---c--', { a: packet(), c: peerClose() });
        f = fakeInitialConnection({ conn: { established: true } });
        wire$.subscribe((p) => f.inbox.deliver(p));

        result = f.iqc.start(new FakeApplication(f.calls)).result;
      });

      await expect(result).resolves.toEqual({ ok: true });
      expect(callsTo(f.calls, 'recv').map(([at]) => at)).toEqual([2, 6]);
      expect(f.claims()).toBe(1);
    });
  });

  describe('handshake', () => {
    it('settles once the handshake completes and runs the application only on resume(), packets queued meanwhile', async () => {
      const f = fakeInitialConnection({ conn: { established: false } });
      const app = new FakeApplication(f.calls);

      const paused$ = f.iqc.handshake(app);
      f.inbox.deliver(handshakeDone());
      const paused = await paused$;

      expect(Buffer.from(paused.connection.scid)).toEqual(CID);
      expect(f.calls.map((c) => c.method)).toContain('app.onConnEstablished');
      // Packets that arrive now wait in the inbox.
      f.inbox.deliver(packet());
      f.inbox.deliver(packet());
      expect(f.inbox.queued).toBe(2);
      expect(f.calls.filter((c) => c.method === 'app.processReads')).toEqual([]);

      f.conn.clearCalls();
      paused.resume();

      expect(f.inbox.queued).toBe(0);
      const order = f.calls.map((c) => c.method).filter((m) => m === 'recv' || m === 'app.processReads');
      expect(order.slice(0, 3)).toEqual(['recv', 'recv', 'app.processReads']);

      // Close it, so nothing outlives the test.
      f.inbox.deliver(peerClose());
      await expect(paused.connection.result).resolves.toEqual({ ok: true });
    });

    it('rejects with the handshake\'s error', async () => {
      const f = fakeInitialConnection({ conn: { established: false } });

      const paused$ = f.iqc.handshake(new FakeApplication(f.calls));
      f.inbox.deliver(fakeIncoming(fakePacket(CID, connectionCloseFrame({ isApp: false, errorCode: 0x128, reason: 'bad cert' }))));

      await expect(paused$).rejects.toMatchObject({ code: 'HandshakeConnectionClosed' });
    });
  });

  describe('reject', () => {
    it('sends CONNECTION_REFUSED, unmaps its CIDs and frees its backlog slot, once', async () => {
      const f = fakeInitialConnection({ conn: { established: false } });

      f.iqc.reject();
      f.iqc.reject();
      // The worker flushes at the end of its turn.
      await new Promise((resolve) => setImmediate(resolve));

      expect(callsTo(f.calls, 'close').map((c) => c.slice(1))).toEqual([[false, 0x2, '']]);
      expect(f.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x2 })]);
      expect(f.cids.mapped).toEqual(new Set());
      expect(f.claims()).toBe(1);
      expect(f.metrics.connectionsInMemory).toBe(-1);
    });

    it('makes a later start fail', () => {
      testScheduler.run(({ expectObservable }) => {
        const f = fakeInitialConnection();
        f.iqc.reject();

        expectObservable(f.iqc.run$(new FakeApplication())).toBe(
          '#',
          undefined,
          new QuicError('InvalidState', 'this InitialQuicConnection was already started or rejected'),
        );
      });
    });
  });
});
