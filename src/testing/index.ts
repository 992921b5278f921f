/**
 * `rxjs-quiche/testing`: what you need to marble-test code built on rxjs-quiche, above all your own
 * {@link ApplicationOverQuic}, with RxJS's `TestScheduler`, no sockets and no native addon.
 *
 * - {@link FakeQuicheConnection}: a scriptable quiche connection that records every call.
 * - {@link FakeDatagramSender}: a send half that records every batch and reply.
 * - {@link fakeIncoming}, {@link shortHeaderPacket}, {@link longHeaderPacket}, {@link fakePacket}
 *   and the frame builders: datagrams with the DCID you choose.
 * - {@link applicationFrames}: your application as an operator, packets in, frames out.
 * - {@link assertOperator}: a two-row marble assertion; {@link observableMatcher} and
 *   {@link createTestScheduler}: a stack-ignoring matcher for `TestScheduler`.
 *
 * ## Example
 * ```ts
 * import { applicationFrames, assertOperator, fakePacket, streamFrame } from 'rxjs-quiche/testing';
 *
 * it('echoes what it reads', () => {
 *   const cid = Buffer.alloc(8, 0x01);
 *   assertOperator(applicationFrames(() => new EchoApp()), [
 *     ['-a-', { a: fakePacket(cid, streamFrame(0, 'hi', true)) }],
 *     ['-x-', { x: streamFrame(0, 'hi', true) }],
 *   ]);
 * });
 * ```
 *
 * @packageDocumentation
 */
/* Fakes */
export { FakeQuicheConnection, type FakeCall, type FakeQuicheConnectionOptions } from './FakeQuicheConnection';
export { FakeDatagramSender, type SentBatch, type SentDatagram } from './FakeDatagramSender';

/* Datagrams and frames */
export {
  fakeIncoming,
  fakePacket,
  shortHeaderPacket,
  longHeaderPacket,
  FAKE_LOCAL_ADDRESS,
  FAKE_PEER_ADDRESS,
  type LongHeaderPacketInit,
} from './fakeIncoming';
export {
  streamFrame,
  datagramFrame,
  connectionCloseFrame,
  resetStreamFrame,
  stopSendingFrame,
  handshakeDoneFrame,
  earlyDataFrame,
  encodeFakeFrames,
  decodeFakeFrames,
  type FakeFrame,
} from './FakeFrame';

/* Marbles */
export { applicationFrames, type ApplicationFramesOptions } from './applicationFrames';
export { assertOperator, type AssertOperatorOptions, type MarbleRow } from './assertOperator';
export { observableMatcher, createTestScheduler } from './observableMatcher';
