import { fromNativeError } from '../../src/native/errors';
import { napi } from '../../src/native/binding';
import { QuicStreamError } from '../../src/errors/QuicStreamError';
import { FakeDatagramSender } from '../../src/testing/FakeDatagramSender';
import {
  connectionCloseFrame,
  datagramFrame,
  decodeFakeFrames,
  resetStreamFrame,
  stopSendingFrame,
  streamFrame,
} from '../../src/testing/FakeFrame';
import { fakeIncoming, fakePacket, longHeaderPacket, shortHeaderPacket } from '../../src/testing/fakeIncoming';
import { FakeQuicheConnection } from '../../src/testing/FakeQuicheConnection';
import { cid, createTestScheduler } from '../helpers/marbles';

const OUT = () => ({ out: new Uint8Array(65_536), lengths: new Uint32Array(64) });
const FROM = { address: '127.0.0.1', port: 50_001 };
const TO = { address: '127.0.0.1', port: 4_433 };

/** Everything `send()` returns until `null`, as datagrams. */
function sendAll(conn: FakeQuicheConnection, uniform = false): Buffer[][] {
  const { out, lengths } = OUT();
  const batches: Buffer[][] = [];
  for (let batch = conn.send(out, lengths, uniform); batch !== null; batch = conn.send(out, lengths, uniform)) {
    const datagrams: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < batch.count; i++) {
      datagrams.push(Buffer.from(out.subarray(offset, offset + lengths[i]!)));
      offset += lengths[i]!;
    }
    batches.push(datagrams);
  }
  return batches;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** @test {FakeQuicheConnection} */
describe('FakeQuicheConnection', () => {
  it('records every call with the virtual time', () => {
    const conn = new FakeQuicheConnection();
    createTestScheduler().run(({ cold }) => {
      conn.isEstablished();
      cold('---a').subscribe(() => conn.timeout());
    });

    expect(conn.calls.map((c) => [c.method, c.at])).toEqual([
      ['isEstablished', 0],
      ['timeout', 3],
    ]);
    expect(conn.callNames('timeout')).toEqual(['timeout']);
  });

  describe('streams', () => {
    it('reads what the peer sent, in pieces, then the FIN once', () => {
      const conn = new FakeQuicheConnection({ established: true });
      conn.deliverStream(0, 'hello');
      conn.deliverStream(0, ' world', true);
      const buf = new Uint8Array(4);

      expect(conn.readable()).toEqual([0]);
      const reads: string[] = [];
      for (let r = conn.streamRecv(0, buf); r !== null; r = conn.streamRecv(0, buf)) {
        reads.push(`${Buffer.from(buf.subarray(0, r.bytes)).toString()}${r.fin ? '|' : ''}`);
      }
      expect(reads).toEqual(['hell', 'o wo', 'rld|']);
      expect(conn.readable()).toEqual([]);
      expect(conn.streamFinished(0)).toBe(true);
    });

    it('reads a FIN without data', () => {
      const conn = new FakeQuicheConnection({ established: true });
      conn.deliverStream(4, '', true);

      expect(conn.streamRecv(4, new Uint8Array(10))).toEqual({ bytes: 0, fin: true });
      expect(conn.streamRecv(4, new Uint8Array(10))).toBeNull();
    });

    it('refuses to read a stream that does not exist, like quiche', () => {
      const conn = new FakeQuicheConnection({ established: true });

      expect(thrown(() => conn.streamRecv(0, new Uint8Array(10)))).toMatchObject({ code: 'InvalidStreamState' });
    });

    it('takes writes up to the stream\'s capacity; the FIN only with the last byte', () => {
      const conn = new FakeQuicheConnection({ established: true, streamCapacity: 5 });

      expect(conn.streamSend(0, Buffer.from('abcdefg'), true)).toBe(5);
      expect(conn.writtenTo(0)).toEqual({ data: Buffer.from('abcde'), fin: false });
      expect(conn.streamSend(0, Buffer.from('fg'), true)).toBeNull();
      conn.setStreamCapacity(0, 10);
      expect(conn.streamSend(0, Buffer.from('fg'), true)).toBe(2);
      expect(conn.writtenTo(0)).toEqual({ data: Buffer.from('abcdefg'), fin: true });
      expect(thrown(() => conn.streamSend(0, Buffer.from('h'), false))).toMatchObject({ code: 'FinalSize' });
    });

    it('sends what was written as fake datagrams, one frame each, to the peer\'s CID', () => {
      const conn = new FakeQuicheConnection({ established: true, dcid: cid(0x22) });
      conn.streamSend(0, Buffer.from('a'), false);
      conn.dgramSend(Buffer.from('d'));
      conn.streamSend(0, Buffer.from('b'), true);

      const [batch] = sendAll(conn);
      expect(batch!.map((d) => decodeFakeFrames(d))).toEqual([[streamFrame(0, 'a')], [datagramFrame('d')], [streamFrame(0, 'b', true)]]);
      expect(napi.parseHeader(batch![0]!, 8).dcid).toEqual(cid(0x22));
      expect(conn.stats().sent).toBe(3);
    });

    it('reports a peer\'s RESET_STREAM and STOP_SENDING as quiche\'s errors, which map to QuicStreamError', () => {
      const conn = new FakeQuicheConnection({ established: true });
      conn.deliverStream(0, 'x');
      conn.resetByPeer(0, 7);
      conn.stopByPeer(4, 9);

      const reset = fromNativeError(thrown(() => conn.streamRecv(0, new Uint8Array(10))));
      expect(reset).toBeInstanceOf(QuicStreamError);
      expect(reset).toMatchObject({ code: 'StreamReset', streamId: 0, applicationCode: 7 });
      // Reported once: the stream is no longer readable.
      expect(conn.readable()).toEqual([]);
      const stopped = fromNativeError(thrown(() => conn.streamSend(4, Buffer.from('y'), false)));
      expect(stopped).toMatchObject({ code: 'StreamStopped', streamId: 4, applicationCode: 9 });
    });

    it('sends STOP_SENDING and RESET_STREAM for a local shutdown, dropping unsent data', () => {
      const conn = new FakeQuicheConnection({ established: true });
      conn.streamSend(0, Buffer.from('lost'), false);

      expect(conn.streamShutdown(0, 'write' as napi.Shutdown, 5)).toBe(true);
      expect(conn.streamShutdown(0, 'write' as napi.Shutdown, 5)).toBe(false);
      expect(conn.streamShutdown(4, 'read' as napi.Shutdown, 6)).toBe(true);
      expect(sendAll(conn).flat().map((d) => decodeFakeFrames(d))).toEqual([[resetStreamFrame(0, 5)], [stopSendingFrame(4, 6)]]);
    });
  });

  describe('send', () => {
    it('fills a batch up to the lengths array and the buffer, then continues', () => {
      const conn = new FakeQuicheConnection();
      conn.queueDatagram(...Array.from({ length: 70 }, () => Buffer.alloc(1000)));

      expect(sendAll(conn).map((b) => b.length)).toEqual([64, 6]);
    });

    it('keeps a uniform batch GSO-shaped: same size, only the last smaller', () => {
      const conn = new FakeQuicheConnection();
      conn.queueDatagram(Buffer.alloc(1200), Buffer.alloc(1200), Buffer.alloc(800), Buffer.alloc(1200), Buffer.alloc(1300));

      expect(sendAll(conn, true).map((b) => b.map((d) => d.length))).toEqual([[1200, 1200, 800], [1200], [1300]]);
    });

    it('returns the peer and local addresses, and throws BufferTooShort for a buffer too small', () => {
      const conn = new FakeQuicheConnection({ peer: FROM, local: TO });
      conn.queueDatagram(Buffer.alloc(1200));

      expect(thrown(() => conn.send(new Uint8Array(100), new Uint32Array(1)))).toMatchObject({ code: 'BufferTooShort' });
      expect(conn.send(new Uint8Array(1500), new Uint32Array(4))).toMatchObject({ count: 1, bytes: 1200, to: FROM, from: TO });
    });
  });

  describe('closing', () => {
    it('closes after sending its CONNECTION_CLOSE; a second close returns false', () => {
      const conn = new FakeQuicheConnection({ established: true });

      expect(conn.close(true, 0x10, 'bye')).toBe(true);
      expect(conn.close(true, 0x11, 'again')).toBe(false);
      expect(conn.isClosed()).toBe(false);
      expect(sendAll(conn).flat().map((d) => decodeFakeFrames(d))).toEqual([[connectionCloseFrame({ isApp: true, errorCode: 0x10, reason: 'bye' })]]);
      expect(conn.isClosed()).toBe(true);
      expect(conn.localError()).toEqual({ isApp: true, errorCode: 0x10, reason: 'bye' });
      expect(conn.send(new Uint8Array(1500), new Uint32Array(1))).toBeNull();
    });

    it('turns an application close before the handshake into APPLICATION_ERROR (0xc), as quiche does', () => {
      const conn = new FakeQuicheConnection({ established: false });
      conn.close(true, 0x42, 'secret');

      expect(conn.localError()).toEqual({ isApp: false, errorCode: 0xc, reason: '' });
    });

    it('drains for drainTimeout before it is closed', () => {
      let now = 100;
      const conn = new FakeQuicheConnection({ established: true, drainTimeout: 30, now: () => now });
      conn.closeByPeer({ isApp: true, errorCode: 0 });

      expect(conn.isDraining()).toBe(true);
      expect(conn.timeout()).toBe(30);
      now = 129;
      conn.onTimeout();
      expect(conn.isClosed()).toBe(false);
      now = 130;
      conn.onTimeout();
      expect(conn.isClosed()).toBe(true);
      expect(conn.peerError()).toEqual({ isApp: true, errorCode: 0, reason: '' });
    });

    it('fails a recv like quiche on a protocol error: throws its code and queues a transport close', () => {
      const conn = new FakeQuicheConnection({ established: true });
      conn.failNextRecv('FlowControl', 0x3);

      const err = thrown(() => conn.recv(fakePacket(cid(1), []), FROM, TO));
      expect(fromNativeError(err)).toMatchObject({ code: 'FlowControl' });
      expect(conn.localError()).toEqual({ isApp: false, errorCode: 0x3, reason: '' });
      expect(sendAll(conn).flat().map((d) => decodeFakeFrames(d))).toEqual([[connectionCloseFrame({ isApp: false, errorCode: 0x3 })]]);
    });

    it('closes silently at the idle timeout', () => {
      const conn = new FakeQuicheConnection({ established: true });
      conn.streamSend(0, Buffer.from('never sent'), false);
      conn.idleTimeout();

      expect(conn.isClosed()).toBe(true);
      expect(conn.isTimedOut()).toBe(true);
      expect(sendAll(conn)).toEqual([]);
      expect(thrown(() => conn.recv(Buffer.alloc(10), FROM, TO))).toMatchObject({ code: 'ConnectionClosed' });
    });
  });

  describe('from the wire', () => {
    it('applies the frames of fake datagrams, GRO batches included', () => {
      const conn = new FakeQuicheConnection({ established: false });
      const a = fakePacket(cid(1), streamFrame(0, 'ab'));
      const b = fakePacket(cid(1), [streamFrame(0, 'c', true), { type: 'handshakeDone' }]);
      // Two GRO segments of b's size: a, zero-padded, then b.
      const batch = Buffer.concat([a, Buffer.alloc(b.length - a.length), b]);

      expect(conn.recv(batch, FROM, TO, b.length)).toBe(batch.length);

      expect(conn.isEstablished()).toBe(true);
      expect(conn.streamRecv(0, new Uint8Array(10))).toEqual({ bytes: 3, fin: true });
      expect(conn.stats().recv).toBe(2);
    });

    it('ignores datagrams that are not fake', () => {
      const conn = new FakeQuicheConnection({ established: false });

      expect(conn.recv(shortHeaderPacket(cid(1)), FROM, TO)).toBe(33);
      expect(conn.readable()).toEqual([]);
    });
  });

  describe('connection IDs', () => {
    it('issues source IDs up to what the peer accepts and reports the ones it retires', () => {
      const conn = new FakeQuicheConnection({ scid: cid(0x01), scidsLeft: 1 });

      expect(conn.newScid(cid(0xc1), Buffer.alloc(16), false)).toBe(1);
      expect(thrown(() => conn.newScid(cid(0xc2), Buffer.alloc(16), false))).toMatchObject({ code: 'IdLimit' });
      conn.retireByPeer(cid(0x01));
      expect(conn.sourceIds()).toEqual([cid(0xc1)]);
      expect(conn.scidsLeft()).toBe(1);
      expect(conn.retiredScidNext()).toEqual(cid(0x01));
      expect(conn.retiredScidNext()).toBeNull();
    });
  });
});

/** @test {FakeDatagramSender} */
describe('FakeDatagramSender', () => {
  it('records batches and replies as copies, and decodes fake frames', () => {
    const sender = new FakeDatagramSender(true, () => 7);
    const out = Buffer.concat([fakePacket(cid(2), streamFrame(0, 'x')), Buffer.from('raw')]);
    const lengths = Uint32Array.from([out.length - 3, 3]);
    sender.sendBatch(out, lengths, { count: 2, bytes: out.length, segmentSize: out.length - 3, to: FROM, from: TO, delayUs: 0 });
    sender.sendTo(Buffer.from('retry'), FROM);
    out.fill(0);

    expect(sender.gso).toBe(true);
    expect(sender.batches).toHaveLength(1);
    expect(sender.batches[0]!.datagrams.map((d) => d.length)).toEqual([out.length - 3, 3]);
    expect(sender.batches[0]!.datagrams[1]).toEqual(Buffer.from('raw'));
    expect(sender.replies.map((r) => [r.buf.toString(), r.via, r.at])).toEqual([['retry', 'reply', 7]]);
    expect(sender.frames()).toEqual([streamFrame(0, 'x')]);
  });
});

/** @test {longHeaderPacket} */
describe('datagram builders', () => {
  it.each([
    ['initial', 'initial'],
    ['handshake', 'handshake'],
    ['zeroRtt', 'zeroRtt'],
  ] as const)('build a %s header that quiche parses', (type, parsed) => {
    const datagram = longHeaderPacket({ type, dcid: cid(0xd1, 20), scid: cid(0x5c, 5), token: type === 'initial' ? Buffer.from('tok') : undefined, padTo: 1200 });
    const header = napi.parseHeader(datagram, 8);

    expect(datagram.length).toBe(1200);
    expect(header).toMatchObject({ type: parsed, version: 1, dcid: cid(0xd1, 20), scid: cid(0x5c, 5) });
    if (type === 'initial') expect(header.token).toEqual(Buffer.from('tok'));
  });

  it('builds a long token with a two-byte length', () => {
    const token = Buffer.alloc(300, 7);
    expect(napi.parseHeader(longHeaderPacket({ dcid: cid(1), token }), 8).token).toEqual(token);
  });

  it('builds short headers quiche reads with the CID length given', () => {
    expect(napi.parseHeader(shortHeaderPacket(cid(0xa1, 12)), 12)).toMatchObject({ type: 'short', dcid: cid(0xa1, 12) });
  });

  it('wraps bytes as an Incoming with default addresses', () => {
    const incoming = fakeIncoming(Buffer.from('x'), { gro: 1200 });

    expect(incoming).toMatchObject({ peer: { port: 50_001 }, local: { port: 4_433 }, rxTime: 0, gro: 1200 });
  });
});
