import { randomBytes } from 'node:crypto';

import { NativePair, thrown } from '../helpers/nativePair';

describe('native datagrams', () => {
  const dgram = { enableDgram: true, dgramSendMaxQueueLen: 4, dgramRecvMaxQueueLen: 16 };

  it('should deliver DATAGRAM frames in order, each whole', () => {
    const pair = NativePair.connect({ client: dgram, server: dgram });
    pair.handshake();
    const max = pair.client.dgramMaxWritableLen();
    expect(max).not.toBeNull();
    // Bounded by the 1350-byte packets the pair uses, less the packet and frame overhead.
    expect(max).toBeGreaterThan(1200);
    expect(max).toBeLessThan(1350);

    const sent = [Buffer.from('one'), randomBytes(max ?? 0), Buffer.alloc(0), Buffer.from('four')];
    for (const d of sent) expect(pair.client.dgramSend(d)).toBe(true);
    expect(pair.client.dgramSendQueueLen()).toBe(4);
    pair.advance();
    expect(pair.client.dgramSendQueueLen()).toBe(0);

    expect(pair.server.dgramRecvQueueLen()).toBe(4);
    const buf = new Uint8Array(2048);
    const received: Buffer[] = [];
    for (let n = pair.server.dgramRecv(buf); n !== null; n = pair.server.dgramRecv(buf)) {
      received.push(Buffer.from(buf.subarray(0, n)));
    }
    expect(received).toEqual(sent);
    expect(pair.server.dgramRecv(buf)).toBeNull();
    expect(pair.client.stats().dgramSent).toBe(4);
    expect(pair.server.stats().dgramRecv).toBe(4);

    // And the other way.
    expect(pair.server.dgramSend(Buffer.from('back'))).toBe(true);
    pair.advance();
    const n = pair.client.dgramRecv(buf);
    expect(Buffer.from(buf.subarray(0, n ?? 0)).toString()).toBe('back');
  });

  it('should return false when the send queue is full, and drop only the extra datagram', () => {
    const pair = NativePair.connect({ client: dgram, server: dgram });
    pair.handshake();

    for (let i = 0; i < 4; i += 1) expect(pair.client.dgramSend(Buffer.from([i]))).toBe(true);
    expect(pair.client.dgramSend(Buffer.from([4]))).toBe(false);
    expect(pair.client.dgramSendQueueLen()).toBe(4);

    pair.advance();
    const buf = new Uint8Array(16);
    const received: number[] = [];
    for (let n = pair.server.dgramRecv(buf); n !== null; n = pair.server.dgramRecv(buf)) {
      received.push(buf[0] ?? -1);
    }
    expect(received).toEqual([0, 1, 2, 3]);
  });

  it('should refuse a datagram larger than dgramMaxWritableLen() with BufferTooShort', () => {
    const pair = NativePair.connect({ client: dgram, server: dgram });
    pair.handshake();
    const max = pair.client.dgramMaxWritableLen() ?? 0;

    const error = thrown(() => pair.client.dgramSend(Buffer.alloc(max + 1)));
    expect(error.code).toBe('BufferTooShort');
    expect(pair.client.dgramSendQueueLen()).toBe(0);
    expect(pair.client.dgramSend(Buffer.alloc(max))).toBe(true);
  });

  it('should keep a received datagram queued when the read buffer is too small', () => {
    const pair = NativePair.connect({ client: dgram, server: dgram });
    pair.handshake();
    pair.client.dgramSend(Buffer.from('twelve bytes'));
    pair.advance();

    expect(thrown(() => pair.server.dgramRecv(new Uint8Array(11))).code).toBe('BufferTooShort');
    expect(pair.server.dgramRecvQueueLen()).toBe(1);
    const buf = new Uint8Array(12);
    expect(pair.server.dgramRecv(buf)).toBe(12);
    expect(Buffer.from(buf).toString()).toBe('twelve bytes');
  });

  it('should refuse datagrams with InvalidState when the peer does not accept them', () => {
    const pair = NativePair.connect({ client: dgram });
    pair.handshake();

    expect(pair.client.dgramMaxWritableLen()).toBeNull();
    expect(thrown(() => pair.client.dgramSend(Buffer.from('x'))).code).toBe('InvalidState');
  });
});
