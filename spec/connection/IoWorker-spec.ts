import { filter, map, NEVER, type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import { HandshakeError } from '../../src/errors/HandshakeError';
import { QuicError } from '../../src/errors/QuicError';
import { QuicTransportError } from '../../src/errors/QuicTransportError';
import { ConnectionInbox } from '../../src/router/ConnectionInbox';
import { connectionCloseFrame, earlyDataFrame, handshakeDoneFrame, streamFrame } from '../../src/testing/FakeFrame';
import { fakeIncoming, fakePacket } from '../../src/testing/fakeIncoming';
import { fakeWorker, SequenceCidGenerator } from '../helpers/fakeWorker';
import { callsByFrame, callsTo, cid, observableMatcher } from '../helpers/marbles';

const CID = cid(0x01);
/** A packet that carries nothing the fake reacts to. */
const packet = (): ReturnType<typeof fakeIncoming> => fakeIncoming(fakePacket(CID, []));
/** A full-size datagram (RFC 9000 §14.1): the fake reads the zeros after its frames as padding. */
const fullPacket = (): ReturnType<typeof fakeIncoming> => fakeIncoming(Buffer.concat([fakePacket(CID, []), Buffer.alloc(1200)]));

/** @test {IoWorker} */
describe('IoWorker', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  describe('step order', () => {
    it('feeds quiche every pending packet, then processReads, processWrites and the flush', () => {
      let calls!: ReturnType<typeof fakeWorker>['calls'];
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const packet$ = hot('  --(ab)---c---', { a: packet(), b: packet(), c: packet() });
        const packetSubs = '   ^------------!';
        const unsub = '        -------------!';
        const expected = '     e-------------';

        const w = fakeWorker({ packet$ });
        calls = w.calls;
        // Quiche has a packet ready after each recv, so every flush sends something.
        w.conn.afterRecv = (_buf, conn) => conn.queueDatagram(Buffer.from('ack'));

        expectObservable(w.worker.run$(), unsub).toBe(expected, { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
        expectSubscriptions(packet$.subscriptions).toBe(packetSubs);
      });

      expect(callsByFrame(calls, 'recv', 'app.processReads', 'app.processWrites', 'send')).toEqual({
        // Running starts with one unconditional read (0-RTT data), then writes and a flush.
        0: ['app.processReads', 'app.processWrites', 'send'],
        // Two packets in one frame: both fed to quiche before one step.
        2: ['recv', 'recv', 'app.processReads', 'app.processWrites', 'send', 'send'],
        9: ['recv', 'app.processReads', 'app.processWrites', 'send', 'send'],
        // Unsubscribing: the CONNECTION_CLOSE is flushed.
        13: ['send', 'send'],
      });
    });
  });

  describe('flush', () => {
    it('sends at most 128 packets per flush and finishes on another step in the same frame', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ expectObservable }) => {
        w = fakeWorker({ packet$: NEVER });
        w.conn.queueDatagram(...Array.from({ length: 200 }, () => Buffer.alloc(100, 0x33)));

        expectObservable(w.worker.run$()).toBe('e-', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      // 64 lengths per send() call: 64 + 64 reach the bound, the next step sends the rest.
      expect(w.sender.batches.map((b) => [b.at, b.datagrams.length])).toEqual([
        [0, 64],
        [0, 64],
        [0, 64],
        [0, 8],
      ]);
      expect(callsByFrame(w.calls, 'app.processWrites', 'send')).toEqual({
        0: ['app.processWrites', 'send', 'send', 'app.processWrites', 'send', 'send', 'send'],
      });
    });
  });

  describe('when the flush runs', () => {
    /** A flush scheduler that runs what it holds only when told: the end of the event loop's turn. */
    class EndOfTurn implements SchedulerLike {
      private held: (() => void)[] = [];
      now = (): number => 0;
      schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void): Subscription {
        // The worker's actions are arrow functions: no SchedulerAction is needed as `this`.
        const run = (): void => work.call(undefined as unknown as SchedulerAction<T>);
        this.held.push(run);
        return new Subscription(() => (this.held = this.held.filter((h) => h !== run)));
      }
      runHeld(): void {
        const held = this.held;
        this.held = [];
        for (const h of held) h();
      }
    }

    /** The worker stepping on packets (`marbles`), with quiche owing an ACK after each; what it sent in the steps. */
    function run(marbles: string, reads: boolean | undefined): { sentInSteps: [number, number][]; endOfTurn: EndOfTurn; w: ReturnType<typeof fakeWorker> } {
      const endOfTurn = new EndOfTurn();
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        w = fakeWorker({ packet$: hot(marbles, { a: packet(), b: packet(), A: fullPacket(), B: fullPacket() }), flushScheduler: endOfTurn });
        w.app.reads = reads;
        w.conn.afterRecv = (_buf, conn) => conn.queueDatagram(Buffer.from('ack'));
        expectObservable(w.worker.run$()).toBe('e----', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
        // The start's flush, before the packets.
        testScheduler.schedule(() => endOfTurn.runHeld(), 1);
      });
      return { sentInSteps: w.sender.batches.map((b) => [b.at, b.datagrams.length]), endOfTurn, w };
    }

    it('holds the flush of a lone packet the application read until the end of the turn, for its reaction to leave with the ACK', () => {
      const { sentInSteps, endOfTurn, w } = run('--a', undefined);
      expect(sentInSteps).toEqual([]);
      endOfTurn.runHeld();
      expect(w.sender.batches.map((b) => b.datagrams.length)).toEqual([1]);
    });

    it('flushes at once after a lone packet that gave the application nothing (an ACK that opened the window)', () => {
      const { sentInSteps } = run('--a', false);
      expect(sentInSteps).toEqual([[2, 1]]);
    });

    it('flushes at once after two full-size packets, whatever the application read (RFC 9000 §13.2.2)', () => {
      const { sentInSteps } = run('--(AB)', undefined);
      expect(sentInSteps).toEqual([[2, 2]]);
    });

    it('holds the flush after two small packets (an ACK and a request), for the reaction to leave with the ACK', () => {
      const { sentInSteps, endOfTurn, w } = run('--(ab)', undefined);
      expect(sentInSteps).toEqual([]);
      endOfTurn.runHeld();
      expect(w.sender.batches.map((b) => b.datagrams.length)).toEqual([2]);
    });
  });

  describe('anti-amplification limit (RFC 9000 §8.1)', () => {
    /** Runs a server that answers every received packet with ten datagrams of the same size. */
    function amplify(addressValidated: boolean | undefined): ReturnType<typeof fakeWorker> {
      let w!: ReturnType<typeof fakeWorker>;
      const a = packet();
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('a-b-c', { a, b: packet(), c: fakeIncoming(fakePacket(CID, handshakeDoneFrame())) });
        w = fakeWorker({ packet$, conn: { established: false, isServer: true }, ...(addressValidated !== undefined ? { addressValidated } : {}) });
        w.conn.afterRecv = (buf, conn) => conn.queueDatagram(...Array.from({ length: 10 }, () => Buffer.alloc(a.buf.length, 0x44)));
        expectObservable(w.worker.run$(), '^----!').toBe('----e', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });
      return w;
    }

    it('sends an unvalidated client at most three times what it received until the handshake completes', () => {
      const w = amplify(false);
      // One packet in: three out, the other seven held back (quiche sends them again later).
      // Two in: three more. The handshake completes with the third: no limit from then on.
      expect(w.sender.batches.map((b) => [b.at, b.datagrams.length])).toEqual([
        [0, 3],
        [2, 3],
        [4, 10],
        [5, 1], // the CONNECTION_CLOSE when unsubscribed
      ]);
      expect(w.metrics.amplificationLimitHits).toBe(14);
    });

    it.each([
      ['a validated address (a Retry token came back)', true],
      ['a client', undefined],
    ] as const)('leaves %s alone', (_what, validated) => {
      const w = amplify(validated);
      expect(w.sender.batches.map((b) => [b.at, b.datagrams.length])).toEqual([
        [0, 10],
        [2, 10],
        [4, 10],
        [5, 1],
      ]);
      expect(w.metrics.amplificationLimitHits).toBe(0);
    });
  });

  describe('timer', () => {
    it('keeps an armed timer that fires no later than needed; quiche then finds nothing due and it re-arms', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   -----a-------------------------', { a: packet() });
        const onTimeout = '     ----------t--------------t-----';

        w = fakeWorker({ packet$ });
        // The first step arms 10 ms (frame 10). The packet's step asks for 20 ms (frame 25): later,
        // so the frame-10 timer stays. It fires early; its step re-arms 15 ms (frame 25); then none.
        w.conn.scriptTimeouts(10, 20, 15);

        expectObservable(w.conn.calls$.pipe(filter((c) => c.method === 'onTimeout'), map(() => 't'))).toBe(onTimeout);
        expectObservable(w.worker.run$()).toBe('e', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsByFrame(w.calls, 'timeout')).toEqual({ 0: ['timeout'], 5: ['timeout'], 10: ['timeout'], 25: ['timeout'] });
      // A timer step runs the application's writes but not its reads (no packet arrived).
      expect(callsByFrame(w.calls, 'onTimeout', 'app.processReads', 'app.processWrites', 'send')).toEqual({
        0: ['app.processReads', 'app.processWrites', 'send'],
        5: ['app.processReads', 'app.processWrites', 'send'],
        10: ['onTimeout', 'app.processWrites', 'send'],
        25: ['onTimeout', 'app.processWrites', 'send'],
      });
    });

    it('replaces an armed timer when quiche needs it sooner, and the replaced one never fires', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   -----a-------------------------', { a: packet() });
        const onTimeout = '     --------t----------------------';

        w = fakeWorker({ packet$ });
        // The first step arms 20 ms (frame 20); the packet's step needs 3 ms (frame 8); then none.
        w.conn.scriptTimeouts(20, 3);

        expectObservable(w.conn.calls$.pipe(filter((c) => c.method === 'onTimeout'), map(() => 't'))).toBe(onTimeout);
        expectObservable(w.worker.run$()).toBe('e', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsByFrame(w.calls, 'timeout')).toEqual({ 0: ['timeout'], 5: ['timeout'], 8: ['timeout'] });
    });

    it('closes with APPLICATION_ERROR (0xc) and errors with HandshakeTimeout when the handshake times out', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a-----------------', { a: packet() });
        const expected = '      ------------#';

        w = fakeWorker({ packet$, conn: { established: false }, handshakeTimeout: 12 });
        // Quiche's own timer (armed for frame 4, and again after the packet) fires first; the
        // handshake deadline still stands.
        w.conn.scriptTimeouts(4, 2);

        expectObservable(w.worker.run$()).toBe(expected, undefined, new HandshakeError('HandshakeTimeout'));
      });

      expect(callsTo(w.calls, 'onTimeout')).toEqual([[4]]);
      expect(callsTo(w.calls, 'close')).toEqual([[12, false, 0xc, '']]);
      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0xc })]);
      expect(w.sender.batches.map((b) => b.at)).toEqual([12]);
      expect(w.metrics.failedHandshakes.timeout).toBe(1);
      // The application never started, so it hears nothing of the close.
      expect(w.calls.some((c) => c.method === 'app.onConnEstablished' || c.method === 'app.onConnClose')).toBe(false);
    });

    it('drops the handshake deadline once the handshake completes', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   ---h--------------------', { h: fakeIncoming(fakePacket(CID, handshakeDoneFrame())) });
        const expected = '      ---e--------------------';

        w = fakeWorker({ packet$, conn: { established: false }, handshakeTimeout: 12 });

        expectObservable(w.worker.run$()).toBe(expected, { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsTo(w.calls, 'close')).toEqual([]);
      expect(callsTo(w.calls, 'onTimeout')).toEqual([]);
      expect(w.handshakeInfo.elapsed).toBe(3);
    });
  });

  describe('application start', () => {
    it('calls onConnEstablished once, when the handshake completes', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const h = fakeIncoming(fakePacket(CID, handshakeDoneFrame()));
        const packet$ = hot('   --a-h--h--', { a: packet(), h });
        const expected = '      ----e-----';

        w = fakeWorker({ packet$, conn: { established: false } });

        expectObservable(w.worker.run$()).toBe(expected, { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsByFrame(w.calls, 'recv', 'app.onConnEstablished', 'app.processReads', 'app.processWrites')).toEqual({
        2: ['recv'],
        4: ['recv', 'app.onConnEstablished', 'app.processReads', 'app.processWrites'],
        7: ['recv', 'app.processReads', 'app.processWrites'],
      });
      expect(w.app.handshakeInfo).toBe(w.handshakeInfo);
      expect(w.handshakeInfo.elapsed).toBe(4);
    });

    it('starts the application in 0-RTT early data, without processWrites until established', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --z--a--h--', {
          z: fakeIncoming(fakePacket(CID, [earlyDataFrame(), streamFrame(0, 'GET /')])),
          a: packet(),
          h: fakeIncoming(fakePacket(CID, handshakeDoneFrame())),
        });
        const expected = '      --e--------';

        w = fakeWorker({ packet$, conn: { established: false } });

        expectObservable(w.worker.run$()).toBe(expected, { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsByFrame(w.calls, 'app.onConnEstablished', 'app.processReads', 'app.processWrites')).toEqual({
        2: ['app.onConnEstablished', 'app.processReads'],
        5: ['app.processReads'],
        8: ['app.processReads', 'app.processWrites'],
      });
    });

    it('reads once unconditionally when the application starts, and afterwards only after packets', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   ---a------', { a: packet() });

        w = fakeWorker({ packet$ });
        // Armed at frame 0 for 6 ms, re-armed at frame 3 for 3 ms: fires at frame 6.
        w.conn.scriptTimeouts(6, 3);

        expectObservable(w.worker.run$()).toBe('e---------', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsByFrame(w.calls, 'app.processReads', 'app.processWrites')).toEqual({
        0: ['app.processReads', 'app.processWrites'],
        3: ['app.processReads', 'app.processWrites'],
        6: ['app.processWrites'],
      });
    });
  });

  describe('shouldAct', () => {
    it('while false, drives quiche only: no reads, writes, waitForData or onConnClose', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a-b---', { a: packet(), b: packet() });
        const unsub = '         -------!';

        w = fakeWorker({ packet$ });
        w.app.acting = false;

        expectObservable(w.worker.run$(), unsub).toBe('e-------', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      const appCalls = w.calls.filter((c) => c.method.startsWith('app.') && c.method !== 'app.shouldAct');
      // onConnEstablished ignores shouldAct.
      expect(appCalls.map((c) => c.method)).toEqual(['app.onConnEstablished']);
      expect(callsByFrame(w.calls, 'recv', 'send')).toEqual({ 0: ['send'], 2: ['recv', 'send'], 4: ['recv', 'send'], 7: ['send', 'send'] });
    });

    it('acts again from the first step after it turns true', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a---b---', { a: packet(), b: packet() });

        w = fakeWorker({ packet$ });
        w.app.acting = false;
        testScheduler.schedule(() => (w.app.acting = true), 4);

        expectObservable(w.worker.run$()).toBe('e---------', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsByFrame(w.calls, 'app.processReads', 'app.processWrites', 'app.waitForData')).toEqual({
        6: ['app.processReads', 'app.processWrites', 'app.waitForData'],
      });
    });
  });

  describe('waitForData', () => {
    it('is raced with packets and timers; a hot Subject returned again stays subscribed until it wakes the worker', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const packet$ = hot('   ---a--------------', { a: packet() });
        const wake$ = hot('     ------w-----w-----');
        const unsub = '         ---------------!';
        // The packet's step (frame 3) asks again and gets the same Subject: no unsubscribe and
        // subscribe; each wake ends its subscription (take(1)) and the next step subscribes anew.
        const wakeSubs = ['      ^-----!', '                     ------^-----!', '                     ------------^--!'];

        w = fakeWorker({ packet$ });
        w.app.wait = () => wake$;

        expectObservable(w.worker.run$(), unsub).toBe('e--', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
        expectSubscriptions(wake$.subscriptions).toBe(wakeSubs);
      });

      // A wake-up runs a step: writes, but no reads without a packet.
      expect(callsByFrame(w.calls, 'app.processReads', 'app.processWrites', 'app.waitForData')).toEqual({
        0: ['app.processReads', 'app.processWrites', 'app.waitForData'],
        3: ['app.processReads', 'app.processWrites', 'app.waitForData'],
        6: ['app.processWrites', 'app.waitForData'],
        12: ['app.processWrites', 'app.waitForData'],
      });
    });

    it('asks quiche about connection IDs only after packets, timers or the handshake, and whether it closed only without a timeout', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   ---a--------------', { a: packet() });
        const wake$ = hot('     ------w-----w-----');
        w = fakeWorker({ packet$, conn: { timeout: 1000 } });
        w.app.wait = () => wake$;
        expectObservable(w.worker.run$(), '---------------!').toBe('e--', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });
      // IDs at the start and after the packet, not after the wakes (which only write); isClosed
      // only at the teardown (frame 15), since quiche always had a timeout.
      expect(callsByFrame(w.calls, 'retiredScids', 'retiredScidNext', 'isEstablished', 'isClosed', 'timeout')).toEqual({
        0: ['isEstablished', 'isEstablished', 'retiredScids', 'timeout'],
        3: ['retiredScids', 'timeout'],
        6: ['timeout'],
        12: ['timeout'],
        15: ['isClosed', 'retiredScidNext'],
      });
    });

    it('subscribes anew after every step to anything else, dropping the previous subscription (a cold Observable restarts)', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        const packet$ = hot('   ---a--------------', { a: packet() });
        const wake$ = cold('    -----w');
        const unsub = '         ---------------!';
        const wakeSubs = [
          '                     ^--!',
          '                     ---^----!',
          '                     --------^----!',
          '                     -------------^-!',
        ];

        w = fakeWorker({ packet$ });
        w.app.wait = () => wake$;

        expectObservable(w.worker.run$(), unsub).toBe('e--', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
        expectSubscriptions(wake$.subscriptions).toBe(wakeSubs);
      });

      expect(callsByFrame(w.calls, 'app.waitForData')).toEqual({ 0: ['app.waitForData'], 3: ['app.waitForData'], 8: ['app.waitForData'], 13: ['app.waitForData'] });
    });
  });

  describe('failures', () => {
    it('closes with INTERNAL_ERROR when a callback throws, tells onConnClose, and errors with ApplicationError', () => {
      const boom = new Error('boom');
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   ---a---', { a: packet() });
        const expected = '      e--#';

        w = fakeWorker({ packet$ });
        w.app.on.processReads = (conn) => {
          if (conn.callNames('recv').length > 0) throw boom;
        };

        expectObservable(w.worker.run$()).toBe(
          expected,
          { e: { type: 'established', handshakeInfo: w.handshakeInfo } },
          new QuicError('ApplicationError', 'application callback failed: boom'),
        );
      });

      expect(callsTo(w.calls, 'close')).toEqual([[3, false, 0x1, '']]);
      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x1 })]);
      expect(w.app.closeResults).toHaveLength(1);
      const result = w.app.closeResults[0]!;
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error.code).toBe('ApplicationError');
      expect(!result.ok && result.error.cause).toBe(boom);
      expect(w.metrics.connectionsInMemory).toBe(-1);
    });

    it('passes a QuicError thrown by a callback through as it is', () => {
      const thrown = new QuicError('InvalidState', 'the protocol went wrong');
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a--', { a: packet() });
        const w = fakeWorker({ packet$ });
        w.app.on.processWrites = (conn) => {
          if (conn.callNames('recv').length > 0) throw thrown;
        };

        expectObservable(w.worker.run$()).toBe('e-#', { e: { type: 'established', handshakeInfo: w.handshakeInfo } }, thrown);
      });
    });

    it('closes with INTERNAL_ERROR when onConnEstablished throws', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --h--', { h: fakeIncoming(fakePacket(CID, handshakeDoneFrame())) });
        w = fakeWorker({ packet$, conn: { established: false } });
        w.app.on.onConnEstablished = () => {
          throw new Error('no');
        };

        expectObservable(w.worker.run$()).toBe('--#', undefined, new QuicError('ApplicationError', 'application callback failed: no'));
      });

      expect(callsTo(w.calls, 'close')).toEqual([[2, false, 0x1, '']]);
      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x1 })]);
    });

    // Bug: IoWorker.fail() flushes the CONNECTION_CLOSE before finish() runs onConnClose, so a
    // throwing callback's connection sends its close first; ApplicationOverQuic.onConnClose (and
    // tokio-quiche's Close stage) promise onConnClose runs before the final CONNECTION_CLOSE is flushed.
    it('runs onConnClose before the CONNECTION_CLOSE is flushed when a callback throws', () => {
      let w!: ReturnType<typeof fakeWorker>;
      let closeSentBeforeOnConnClose: boolean | undefined;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a--', { a: packet() });
        w = fakeWorker({ packet$ });
        w.app.on.processReads = (conn) => {
          if (conn.callNames('recv').length > 0) throw new Error('boom');
        };
        w.app.on.onConnClose = () => {
          closeSentBeforeOnConnClose = w.sender.frames().some((f) => f.type === 'connectionClose');
        };

        expectObservable(w.worker.run$()).toBe(
          'e-#',
          { e: { type: 'established', handshakeInfo: w.handshakeInfo } },
          new QuicError('ApplicationError', 'application callback failed: boom'),
        );
      });

      expect(closeSentBeforeOnConnClose).toBe(false);
      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x1 })]);
    });

    it('flushes the CONNECTION_CLOSE quiche queued for a protocol error in recv, and errors with its code', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a--', { a: packet() });
        w = fakeWorker({ packet$ });
        w.conn.failNextRecv('InvalidFrame', 0x7);

        expectObservable(w.worker.run$()).toBe(
          'e-#',
          { e: { type: 'established', handshakeInfo: w.handshakeInfo } },
          new QuicError('InvalidFrame', 'fake recv failure: InvalidFrame'),
        );
      });

      // The application does not run on a failed step.
      expect(callsByFrame(w.calls, 'recv', 'app.processReads', 'app.processWrites', 'app.onConnClose')).toEqual({
        0: ['app.processReads', 'app.processWrites'],
        2: ['recv', 'app.onConnClose'],
      });
      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x7 })]);
      expect(w.app.closeResults.map((r) => !r.ok && r.error.code)).toEqual(['InvalidFrame']);
    });

    // Bug: same as above, on the recv-error path: step() flushes quiche's CONNECTION_CLOSE and only
    // then finish() calls onConnClose (tokio-quiche returns from the loop before that flush).
    it('runs onConnClose before flushing the CONNECTION_CLOSE of a recv error', () => {
      let closeSentBeforeOnConnClose: boolean | undefined;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a--', { a: packet() });
        const w = fakeWorker({ packet$ });
        w.conn.failNextRecv('InvalidFrame', 0x7);
        w.app.on.onConnClose = () => {
          closeSentBeforeOnConnClose = w.sender.frames().some((f) => f.type === 'connectionClose');
        };

        expectObservable(w.worker.run$()).toBe(
          'e-#',
          { e: { type: 'established', handshakeInfo: w.handshakeInfo } },
          new QuicError('InvalidFrame', 'fake recv failure: InvalidFrame'),
        );
      });

      expect(closeSentBeforeOnConnClose).toBe(false);
    });

    it('closes with INTERNAL_ERROR when quiche fails while sending', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a--', { a: packet() });
        w = fakeWorker({ packet$ });
        w.conn.afterRecv = (_buf, conn) => conn.failNextSend('InvalidState');

        expectObservable(w.worker.run$()).toBe(
          'e-#',
          { e: { type: 'established', handshakeInfo: w.handshakeInfo } },
          new QuicError('InvalidState', 'fake send failure: InvalidState'),
        );
      });

      expect(callsTo(w.calls, 'close')).toEqual([[2, false, 0x1, '']]);
      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x1 })]);
    });
  });

  describe('waitForData failing', () => {
    it('ends the loop like a throwing callback: INTERNAL_ERROR, onConnClose, the error', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ cold, expectObservable }) => {
        const failure = new Error('command channel broke');
        w = fakeWorker({ packet$: NEVER });
        w.app.wait = () => cold('---#', undefined, failure);

        expectObservable(w.worker.run$()).toBe(
          'e--#',
          { e: { type: 'established', handshakeInfo: w.handshakeInfo } },
          new QuicError('ApplicationError', 'application callback failed: command channel broke'),
        );
      });

      expect(callsTo(w.calls, 'close')).toEqual([[3, false, 0x1, '']]);
      expect(w.app.closeResults.map((r) => !r.ok && r.error.code)).toEqual(['ApplicationError']);
    });
  });

  describe('closing during the handshake', () => {
    it('errors with HandshakeConnectionClosed, the peer\'s close as its cause', () => {
      let w!: ReturnType<typeof fakeWorker>;
      const close = { isApp: false, errorCode: 0x128, reason: 'bad certificate' };
      const cause = new QuicTransportError({ isApplication: false, errorCode: 0x128, reason: 'bad certificate', fromPeer: true, code: 'TlsFail' });
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --c--', { c: fakeIncoming(fakePacket(CID, connectionCloseFrame(close))) });
        const expected = '      --#';

        w = fakeWorker({ packet$, conn: { established: false } });

        expectObservable(w.worker.run$()).toBe(
          expected,
          undefined,
          new HandshakeError('HandshakeConnectionClosed', {
            cause,
            message: `the connection closed before the QUIC handshake completed: ${cause.message}`,
          }),
        );
      });

      // A TLS alert (0x100 + alert) from the peer is a TLS failure, not a mere disconnect.
      expect(w.metrics.failedHandshakes.tlsFail).toBe(1);
      expect(w.metrics.failedHandshakes.disconnect).toBe(0);
      // The application never started.
      expect(w.calls.filter((c) => c.method.startsWith('app.') && c.method !== 'app.shouldAct')).toEqual([]);
    });
  });

  describe('handshake failing in recv', () => {
    // Bug: when quiche's recv fails during the handshake (a certificate that does not verify makes
    // it throw TlsFail and queue a CONNECTION_CLOSE 0x100+alert), IoWorker.recv stores
    // fromNativeError(e) as the failure and step() finishes with it: run$ errors with a bare
    // QuicError('TlsFail') and metrics.failedHandshake is never called. connectWithConfig$ and
    // InitialQuicConnection.run$ document a HandshakeError('HandshakeConnectionClosed') with the TLS
    // close as its cause, which closeResult() builds only when quiche reports the close itself.
    it('errors with HandshakeConnectionClosed, the TLS close as cause, and counts a tlsFail', () => {
      let w!: ReturnType<typeof fakeWorker>;
      let error: unknown;
      testScheduler.run(({ hot }) => {
        const packet$ = hot('   --a--', { a: packet() });
        w = fakeWorker({ packet$, conn: { established: false } });
        // certificate_unknown (alert 46) as a CRYPTO_ERROR: 0x100 + 46.
        w.conn.failNextRecv('TlsFail', 0x12e);

        w.worker.run$().subscribe({ error: (e) => (error = e) });
      });

      expect(error).toBeInstanceOf(HandshakeError);
      expect(error).toMatchObject({ code: 'HandshakeConnectionClosed', cause: { code: 'TlsFail', errorCode: 0x12e, fromPeer: false } });
      expect(w.metrics.failedHandshakes.tlsFail).toBe(1);
      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: false, errorCode: 0x12e })]);
    });
  });

  describe('closing', () => {
    it('completes when the peer closes with NO_ERROR', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   ---c--', { c: fakeIncoming(fakePacket(CID, connectionCloseFrame({ isApp: true, errorCode: 0 }))) });
        const expected = '      e--|';

        w = fakeWorker({ packet$ });

        expectObservable(w.worker.run$()).toBe(expected, { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(w.app.closeResults).toEqual([{ ok: true }]);
      expect(w.sender.frames()).toEqual([]);
    });

    it('errors with a QuicTransportError when the peer closes with an error', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const close = connectionCloseFrame({ isApp: false, errorCode: 0xa, reason: 'bad frame' });
        const packet$ = hot('   ---c--', { c: fakeIncoming(fakePacket(CID, close)) });
        const expected = '      e--#';

        const w = fakeWorker({ packet$ });

        expectObservable(w.worker.run$()).toBe(
          expected,
          { e: { type: 'established', handshakeInfo: w.handshakeInfo } },
          new QuicTransportError({ isApplication: false, errorCode: 0xa, reason: 'bad frame', fromPeer: true }),
        );
      });
    });

    it('completes at the idle timeout without sending anything', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ expectObservable }) => {
        w = fakeWorker({ packet$: NEVER });
        w.conn.scriptTimeouts(5);
        w.conn.afterTimeout = (conn) => conn.idleTimeout();

        expectObservable(w.worker.run$()).toBe('e----|', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(w.sender.frames()).toEqual([]);
      expect(w.app.closeResults).toEqual([{ ok: true }]);
    });

    it('keeps running while an application close drains, then completes', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   ---a--b---------', { a: packet(), b: packet() });
        const expected = '      e------------|';

        w = fakeWorker({ packet$, conn: { established: true, drainTimeout: 10 } });
        w.app.on.processWrites = (conn) => {
          if (conn.callNames('recv').length === 1) conn.close(true, 0, 'done');
        };

        expectObservable(w.worker.run$()).toBe(expected, { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: true, errorCode: 0, reason: 'done' })]);
      expect(w.sender.batches.map((b) => b.at)).toEqual([3]);
      expect(callsTo(w.calls, 'onTimeout')).toEqual([[13]]);
      expect(w.app.closeResults).toEqual([{ ok: true }]);
    });

    it('closes with NO_ERROR when unsubscribed: onConnClose, the CONNECTION_CLOSE, then every CID unmapped', () => {
      let w!: ReturnType<typeof fakeWorker>;
      let closeSentBeforeOnConnClose: boolean | undefined;
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const packet$ = hot('   --a-----', { a: packet() });
        const packetSubs = '    ^---!';
        const unsub = '         ----!';

        w = fakeWorker({
          packet$,
          conn: { established: false, scidsLeft: 1 },
          generator: new SequenceCidGenerator(),
          pendingCid: cid(0xdd),
        });
        w.conn.establish();
        w.app.on.onConnClose = () => {
          closeSentBeforeOnConnClose = w.sender.frames().some((f) => f.type === 'connectionClose');
        };
        // The router mapped both of these when it accepted the connection.
        w.cids.mapped.add(cid(0x01).toString('hex')).add(cid(0xdd).toString('hex'));

        expectObservable(w.worker.run$(), unsub).toBe('e---', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
        expectSubscriptions(packet$.subscriptions).toBe(packetSubs);
      });

      expect(callsTo(w.calls, 'close')).toEqual([[4, true, 0, '']]);
      expect(closeSentBeforeOnConnClose).toBe(false);
      expect(w.app.closeResults).toEqual([{ ok: true }]);
      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: true, errorCode: 0, reason: '' })]);
      expect(w.sender.batches.map((b) => b.at)).toEqual([4]);
      expect(callsByFrame(w.calls, 'close', 'app.onConnClose', 'unmap')).toEqual({
        // The pending CID goes when the application starts…
        0: ['unmap'],
        // …and the rest after the close.
        4: ['close', 'app.onConnClose', 'unmap', 'unmap', 'unmap'],
      });
      expect(w.cids.mapped).toEqual(new Set());
      expect(w.metrics.connectionsInMemory).toBe(-1);
    });

    it('closes with the shutdown behaviour it was given', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ expectObservable }) => {
        w = fakeWorker({ packet$: NEVER, shutdownBehaviour: { sendApplicationClose: true, errorCode: 0x42, reason: 'bye' } });
        expectObservable(w.worker.run$(), '--!').toBe('e-', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: true, errorCode: 0x42, reason: 'bye' })]);
    });

    it("closes with the application's shutdown behaviour when the worker has none (HTTP/3's H3_NO_ERROR)", () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ expectObservable }) => {
        w = fakeWorker({ packet$: NEVER });
        Object.assign(w.app, { shutdownBehaviour: { sendApplicationClose: true, errorCode: 0x100, reason: '' } });
        expectObservable(w.worker.run$(), '--!').toBe('e-', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(w.sender.frames()).toEqual([connectionCloseFrame({ isApp: true, errorCode: 0x100, reason: '' })]);
    });
  });

  describe('connection IDs', () => {
    it('unmaps the client DCID and issues spare IDs up to scidsLeft once established, mapping each first', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a-h---', { a: packet(), h: fakeIncoming(fakePacket(CID, handshakeDoneFrame())) });

        w = fakeWorker({
          packet$,
          conn: { established: false, scidsLeft: 2 },
          generator: new SequenceCidGenerator(),
          pendingCid: cid(0xdd),
        });

        expectObservable(w.worker.run$()).toBe('----e---', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsByFrame(w.calls, 'map', 'unmap', 'newScid', 'send')).toEqual({
        0: ['send'],
        2: ['send'],
        4: ['unmap', 'map', 'newScid', 'map', 'newScid', 'send'],
      });
      expect(callsTo(w.calls, 'unmap')).toEqual([[4, cid(0xdd).toString('hex')]]);
      expect(callsTo(w.calls, 'map')).toEqual([
        [4, cid(0xc1).toString('hex')],
        [4, cid(0xc2).toString('hex')],
      ]);
      expect(w.conn.sourceIds()).toEqual([cid(0x01), cid(0xc1), cid(0xc2)]);
    });

    it("keeps the client's original DCID mapped through 0-RTT early data, until the handshake completes", () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        // a: the client's Initial (with 0-RTT); b: more 0-RTT to the same DCID; h: HANDSHAKE_DONE.
        const packet$ = hot('   --a-b-h---', { a: packet(), b: packet(), h: fakeIncoming(fakePacket(CID, handshakeDoneFrame())) });

        w = fakeWorker({ packet$, conn: { established: false }, pendingCid: cid(0xdd) });
        w.conn.enterEarlyData();

        // The application starts in early data (the first step)…
        expectObservable(w.worker.run$()).toBe('e---------', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      // …but the client's DCID is only forgotten once established (frame 6), not at frame 0.
      expect(callsTo(w.calls, 'unmap')).toEqual([[6, cid(0xdd).toString('hex')]]);
    });

    it('unmaps an ID the peer retired and issues a replacement', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   ---a----', { a: packet() });

        w = fakeWorker({ packet$, conn: { scidsLeft: 1 }, generator: new SequenceCidGenerator() });
        w.conn.afterRecv = (_buf, conn) => conn.retireByPeer(cid(0xc1));

        expectObservable(w.worker.run$()).toBe('e-------', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsTo(w.calls, 'map')).toEqual([
        [0, cid(0xc1).toString('hex')],
        [3, cid(0xc2).toString('hex')],
      ]);
      expect(callsTo(w.calls, 'unmap')).toEqual([[3, cid(0xc1).toString('hex')]]);
      expect(w.cids.mapped).toEqual(new Set([cid(0xc2).toString('hex')]));
    });

    it('asks for the room for more IDs once established, then only after the peer retired one', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a--b--c--', { a: packet(), b: packet(), c: packet() });
        w = fakeWorker({ packet$, conn: { scidsLeft: 1 }, generator: new SequenceCidGenerator() });
        // The packet at frame 5 carries a RETIRE_CONNECTION_ID.
        w.conn.afterRecv = (_buf, conn) => {
          if (conn.sourceIds().some((c) => c.equals(cid(0xc1))) && callsTo(w.calls, 'recv').length === 2) conn.retireByPeer(cid(0xc1));
        };
        expectObservable(w.worker.run$()).toBe('e----------', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsByFrame(w.calls, 'retiredScids', 'retiredScidNext', 'scidsLeft', 'newScid')).toEqual({
        0: ['retiredScids', 'scidsLeft', 'newScid'],
        2: ['retiredScids'],
        5: ['retiredScids', 'retiredScidNext', 'retiredScidNext', 'scidsLeft', 'newScid'],
        8: ['retiredScids'],
      });
      expect(w.cids.mapped).toEqual(new Set([cid(0xc2).toString('hex')]));
    });

    it('issues no spare IDs without a generator (a client)', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable }) => {
        const packet$ = hot('   --a--', { a: packet() });
        w = fakeWorker({ packet$, conn: { isServer: false, scidsLeft: 3 } });
        expectObservable(w.worker.run$()).toBe('e----', { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      expect(callsTo(w.calls, 'newScid')).toEqual([]);
      expect(callsTo(w.calls, 'map')).toEqual([]);
    });
  });

  describe('pause after the handshake', () => {
    it('emits established, holds packets in the inbox and runs no timer until resume()', () => {
      let w!: ReturnType<typeof fakeWorker>;
      testScheduler.run(({ hot, expectObservable, time }) => {
        const h = fakeIncoming(fakePacket(CID, handshakeDoneFrame()));
        const wire$ = hot('     -h--a-b-------c--', { h, a: packet(), b: packet(), c: packet() });
        const resumeAt = time(' ---------|');
        const expected = '      -e---------------';

        const inbox = new ConnectionInbox();
        wire$.subscribe((incoming) => inbox.deliver(incoming));
        w = fakeWorker({ packet$: inbox.packet$, conn: { established: false }, pauseAfterHandshake: true });
        // A quiche timer is due at frame 3: a paused worker must not run it.
        w.conn.scriptTimeouts(3);
        testScheduler.schedule(() => w.worker.resume(), resumeAt);

        expectObservable(w.worker.run$()).toBe(expected, { e: { type: 'established', handshakeInfo: w.handshakeInfo } });
      });

      const interesting = ['recv', 'onTimeout', 'app.onConnEstablished', 'app.processReads', 'app.processWrites'];
      const byFrame = callsByFrame(w.calls, ...interesting);
      expect(byFrame[1]).toEqual(['recv', 'app.onConnEstablished']);
      // Nothing happens while paused.
      expect(Object.keys(byFrame).map(Number).filter((f) => f > 1 && f < 9)).toEqual([]);
      // On resume the queued packets are fed first, then the application reads them.
      expect(byFrame[9]!.slice(0, 4)).toEqual(['recv', 'recv', 'app.processReads', 'app.processWrites']);
      expect(byFrame[14]).toEqual(['recv', 'app.processReads', 'app.processWrites']);
      expect(w.worker.stage).toBe('running');
    });
  });
});
