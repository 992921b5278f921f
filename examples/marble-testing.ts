/**
 * Marble-testing your own ApplicationOverQuic with `rxjs-quiche/testing`: no sockets, no native
 * addon, virtual time.
 *
 * The application under test, `ShoutApp`, is a small raw-QUIC protocol: it answers each stream
 * with the same bytes upper-cased (FIN included), sends a DATAGRAM for each `announce()` call, and
 * closes the connection with its own error code when a client says `bye`.
 *
 * Run:
 *   npx ts-node --transpile-only examples/marble-testing.ts
 *
 * Each `check(...)` below is what you would write as an `it(...)` in jest, vitest or mocha; the
 * assertions throw `AssertionError`s, so they work under any runner. A user imports from
 * `'rxjs-quiche'` and `'rxjs-quiche/testing'`; inside this repository those are `'../src'` and
 * `'../src/testing'`.
 */
import { Subject, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import { QuicError, type ApplicationOverQuic, type QuicheConnection } from '../src';
import {
  applicationFrames,
  assertOperator,
  connectionCloseFrame,
  datagramFrame,
  fakePacket,
  FakeQuicheConnection,
  handshakeDoneFrame,
  observableMatcher,
  streamFrame,
} from '../src/testing';

/** The application error code ShoutApp closes with when the client says goodbye. */
const GOODBYE = 0x100;

/**
 * The application under test.
 */
class ShoutApp implements ApplicationOverQuic {
  private established = false;
  private readonly buf = new Uint8Array(16 * 1024);
  // Per stream: upper-cased bytes to send, and whether the FIN follows them.
  private readonly replies = new Map<number, { data: Buffer; fin: boolean }>();
  // Announcements not yet sent. The queue lives here, not in waitForData's Observable, so
  // waitForData can be dropped and re-created after every step without losing anything.
  private readonly announcements: string[] = [];
  private readonly wake$ = new Subject<void>();
  private goodbye = false;

  /** Queues a DATAGRAM for the client, from outside the worker (a command). */
  announce(text: string): void {
    this.announcements.push(text);
    this.wake$.next();
  }

  onConnEstablished(): void {
    this.established = true;
  }

  shouldAct(): boolean {
    return this.established;
  }

  waitForData(): Observable<void> {
    return this.wake$;
  }

  processReads(conn: QuicheConnection): void {
    for (const streamId of conn.readable()) {
      if ((streamId & 0x2) !== 0) throw new Error(`unexpected unidirectional stream ${streamId}`);
      for (let read = conn.streamRecv(streamId, this.buf); read !== null; read = conn.streamRecv(streamId, this.buf)) {
        const text = Buffer.from(this.buf.subarray(0, read.bytes)).toString('utf8');
        if (text === 'bye') this.goodbye = true;
        const reply = this.replies.get(streamId) ?? { data: Buffer.alloc(0), fin: false };
        this.replies.set(streamId, { data: Buffer.concat([reply.data, Buffer.from(text.toUpperCase())]), fin: read.fin });
        if (read.fin) break;
      }
    }
  }

  processWrites(conn: QuicheConnection): void {
    if (this.goodbye) {
      conn.close(true, GOODBYE, 'goodbye');
      return;
    }
    for (const [streamId, reply] of this.replies) {
      const written = conn.streamSend(streamId, reply.data, reply.fin);
      if (written === null) continue;
      if (written === reply.data.length) this.replies.delete(streamId);
      else reply.data = reply.data.subarray(written);
    }
    for (let text = this.announcements.shift(); text !== undefined; text = this.announcements.shift()) {
      conn.dgramSend(Buffer.from(text));
    }
  }
}

// Whose packets these are does not matter to a connection that is already routed.
const CID = Buffer.alloc(8, 0x01);

check('shouts back what it reads, FIN included (two-row form)', () => {
  assertOperator(applicationFrames(() => new ShoutApp()), [
    ['-a---b---', { a: fakePacket(CID, streamFrame(0, 'hi ')), b: fakePacket(CID, streamFrame(0, 'there', true)) }],
    ['-x---y---', { x: streamFrame(0, 'HI '), y: streamFrame(0, 'THERE', true) }],
  ]);
});

check('sends an announcement as soon as it is made, between packets (waitForData)', () => {
  const testScheduler = new TestScheduler(observableMatcher);
  testScheduler.run(({ hot, expectObservable }) => {
    const app = new ShoutApp();
    const packet$ = hot('    -----a----', { a: fakePacket(CID, streamFrame(4, 'x', true)) });
    const command$ = hot('   --n------m', { n: 'news', m: 'more' });
    const expected = '       --n--a---m';

    command$.subscribe((text) => app.announce(text));

    expectObservable(packet$.pipe(applicationFrames(() => app))).toBe(expected, {
      n: datagramFrame('news'),
      a: streamFrame(4, 'X', true),
      m: datagramFrame('more'),
    });
  });
});

check('stays silent until the handshake completes, then catches up', () => {
  const testScheduler = new TestScheduler(observableMatcher);
  testScheduler.run(({ hot, expectObservable }) => {
    const app = new ShoutApp();
    const packet$ = hot('    ----h-----', { h: fakePacket(CID, [handshakeDoneFrame(), streamFrame(0, 'ok', true)]) });
    const command$ = hot('   -n--------', { n: 'early' });
    const expected = '       ----(ay)--';

    command$.subscribe((text) => app.announce(text));
    const frames$ = packet$.pipe(applicationFrames(() => app, { connection: { established: false } }));

    expectObservable(frames$).toBe(expected, { a: streamFrame(0, 'OK', true), y: datagramFrame('early') });
  });
});

check('closes with its own error code when the client says bye, and completes', () => {
  assertOperator(applicationFrames(() => new ShoutApp()), [
    ['--b--', { b: fakePacket(CID, streamFrame(0, 'bye', true)) }],
    ['--(c|)', { c: connectionCloseFrame({ isApp: true, errorCode: GOODBYE, reason: 'goodbye' }) }],
  ]);
});

check('a protocol violation closes the connection with INTERNAL_ERROR and errors', () => {
  assertOperator(applicationFrames(() => new ShoutApp()), [
    ['--u--', { u: fakePacket(CID, streamFrame(2, 'sneaky')) }],
    [
      '--(c#)',
      { c: connectionCloseFrame({ isApp: false, errorCode: 0x1 }) },
      // Compared by name, message and code: the stack does not matter.
      new QuicError('ApplicationError', 'application callback failed: unexpected unidirectional stream 2'),
    ],
  ]);
});

check('without the worker: call the callbacks on a FakeQuicheConnection yourself', () => {
  const conn = new FakeQuicheConnection({ established: true });
  const app = new ShoutApp();
  app.onConnEstablished();

  conn.deliverStream(0, 'quiet', true);
  app.processReads(conn);
  app.processWrites(conn);

  const written = conn.writtenTo(0);
  if (written.data.toString() !== 'QUIET' || !written.fin) throw new Error(`wrote ${JSON.stringify(written)}`);
  const order = conn.callNames('readable', 'streamRecv', 'streamSend').join(' ');
  if (order !== 'readable streamRecv streamSend') throw new Error(`called ${order}`);
});

/** Runs one example check and reports it; a failure makes the process exit with 1. */
function check(name: string, fn: () => void): void {
  try {
    fn();
    console.log(`✓ ${name}`);
  } catch (err) {
    process.exitCode = 1;
    console.log(`✗ ${name}\n${err instanceof Error ? err.message : String(err)}`);
  }
}
