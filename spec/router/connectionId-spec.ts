import { hasHandshakePacket } from '../../src/router/connectionId';
import { NativePair } from '../helpers/nativePair';

/** Delivers captured datagrams to `to`, one recv each. */
function deliver(to: NativePair['client'], batch: NonNullable<ReturnType<typeof NativePair.capture>>): void {
  for (const d of batch.datagrams) to.recv(d, batch.from, batch.to, null);
}

describe('hasHandshakePacket', () => {
  it("finds the client's first Handshake packet in real quiche datagrams, coalesced or not, and nothing before it", () => {
    const pair = NativePair.connect();
    // The client's first flight: Initial packets only (ClientHello, padded).
    const first = NativePair.capture(pair.client)!;
    expect(first.datagrams.length).toBeGreaterThan(0);
    for (const d of first.datagrams) expect(hasHandshakePacket(d)).toBe(false);
    deliver(pair.server, first);
    // The server's Initial + Handshake flight.
    const reply = NativePair.capture(pair.server)!;
    expect(reply.datagrams.some((d) => hasHandshakePacket(d))).toBe(true);
    deliver(pair.client, reply);
    // The client's answer: an Initial ACK coalesced with its Handshake packet (Finished).
    const second = NativePair.capture(pair.client)!;
    expect(second.datagrams.some((d) => hasHandshakePacket(d))).toBe(true);
    const coalesced = second.datagrams.find((d) => hasHandshakePacket(d))!;
    // Either way the first packet of that datagram is a long header; a Handshake is found behind an
    // Initial by its Length field.
    expect(coalesced[0]! & 0x80).toBe(0x80);

    // A GRO train: the Handshake-carrying datagram as the second segment of two.
    const segment = Math.max(first.datagrams[0]!.length, coalesced.length);
    const train = Buffer.alloc(segment * 2);
    first.datagrams[0]!.copy(train, 0);
    coalesced.copy(train, segment);
    expect(hasHandshakePacket(train.subarray(0, segment + coalesced.length), segment)).toBe(true);
    expect(hasHandshakePacket(train.subarray(0, segment), segment)).toBe(false);
  });

  it('says no for short headers, version negotiation, Retry and truncated headers', () => {
    expect(hasHandshakePacket(Buffer.from([0x40, 1, 2, 3, 4, 5, 6, 7, 8]))).toBe(false);
    // Version 0: version negotiation, whatever the type bits say.
    expect(hasHandshakePacket(Buffer.from([0xe0, 0, 0, 0, 0, 0, 0, 0]))).toBe(false);
    // A v1 Handshake type byte with its header cut short still counts by type...
    expect(hasHandshakePacket(Buffer.from([0xe0, 0, 0, 0, 1, 0, 0]))).toBe(true);
    // ...but a v1 Initial whose lengths run past the end finds nothing behind it.
    expect(hasHandshakePacket(Buffer.from([0xc0, 0, 0, 0, 1, 8, 1, 2, 3]))).toBe(false);
    // Retry (v1 type 3): nothing coalesced behind it.
    expect(hasHandshakePacket(Buffer.from([0xf0, 0, 0, 0, 1, 0, 0, 0xe0, 0, 0, 0, 1, 0, 0]))).toBe(false);
    // QUIC v2 numbers Handshake as type 3.
    expect(hasHandshakePacket(Buffer.from([0xf0, 0x6b, 0x33, 0x43, 0xcf, 0, 0]))).toBe(true);
    expect(hasHandshakePacket(new Uint8Array(0))).toBe(false);
  });
});
