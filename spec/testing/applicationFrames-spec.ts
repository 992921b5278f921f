import { NEVER } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import type { ApplicationOverQuic } from '../../src/application/ApplicationOverQuic';
import { QuicError } from '../../src/errors/QuicError';
import type { QuicheConnection } from '../../src/native/binding';
import { applicationFrames } from '../../src/testing/applicationFrames';
import type { FakeDatagramSender } from '../../src/testing/FakeDatagramSender';
import { assertOperator } from '../../src/testing/assertOperator';
import { connectionCloseFrame, handshakeDoneFrame, streamFrame } from '../../src/testing/FakeFrame';
import { fakePacket } from '../../src/testing/fakeIncoming';
import { cid, observableMatcher } from '../helpers/marbles';

const CID = cid(0x01);

/** A user's application, typed against the real QuicheConnection: echoes stream 0. */
class EchoApp implements ApplicationOverQuic {
  private ready = false;
  private readonly buf = new Uint8Array(1024);

  onConnEstablished(): void {
    this.ready = true;
  }
  shouldAct(): boolean {
    return this.ready;
  }
  waitForData() {
    return NEVER;
  }
  processReads(conn: QuicheConnection): void {
    for (const id of conn.readable()) {
      for (let r = conn.streamRecv(id, this.buf); r !== null; r = conn.streamRecv(id, this.buf)) {
        if (Buffer.from(this.buf.subarray(0, r.bytes)).toString() === 'throw') throw new Error('asked to');
        conn.streamSend(id, this.buf.subarray(0, r.bytes), r.fin);
      }
    }
  }
  processWrites(): void {}
}

/** @test {applicationFrames} */
describe('applicationFrames', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('emits the frames the application sends, at the frame of the packet that caused them', () => {
    assertOperator(applicationFrames(() => new EchoApp()), [
      ['-a--b--', { a: fakePacket(CID, streamFrame(0, 'hi')), b: fakePacket(CID, streamFrame(0, '!', true)) }],
      ['-x--y--', { x: streamFrame(0, 'hi'), y: streamFrame(0, '!', true) }],
    ]);
  });

  it('starts unestablished when told to, and waits for the handshake', () => {
    assertOperator(applicationFrames(() => new EchoApp(), { connection: { established: false } }), [
      ['-a--h--', { a: fakePacket(CID, streamFrame(0, 'early')), h: fakePacket(CID, handshakeDoneFrame()) }],
      ['----x--', { x: streamFrame(0, 'early') }],
    ]);
  });

  it('completes when the peer closes cleanly, and errors when the application throws', () => {
    assertOperator(applicationFrames(() => new EchoApp()), [
      ['--c--', { c: fakePacket(CID, connectionCloseFrame()) }],
      ['--|'],
    ]);
    assertOperator(applicationFrames(() => new EchoApp()), [
      ['--t--', { t: fakePacket(CID, streamFrame(0, 'throw')) }],
      ['--(c#)', { c: connectionCloseFrame({ isApp: false, errorCode: 0x1 }) }, new QuicError('ApplicationError', 'application callback failed: asked to')],
    ]);
  });

  it('closes the connection when unsubscribed, and stops reading the packets', () => {
    let sender!: FakeDatagramSender;
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const packet$ = hot('   -a---a---', { a: fakePacket(CID, streamFrame(0, 'x')) });
      const packetSubs = '    ^---!';
      const unsub = '         ----!';
      const expected = '      -x-------';

      const frames$ = packet$.pipe(
        applicationFrames(() => new EchoApp(), { onConnection: (_conn, s) => (sender = s) }),
      );

      expectObservable(frames$, unsub).toBe(expected, { x: streamFrame(0, 'x') });
      expectSubscriptions(packet$.subscriptions).toBe(packetSubs);
    });

    // The CONNECTION_CLOSE went out after the subscriber left.
    expect(sender.frames()).toEqual([streamFrame(0, 'x'), connectionCloseFrame({ isApp: true, errorCode: 0 })]);
  });
});
