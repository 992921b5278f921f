import { ConnectionMap, type ConnectionRoute } from '../../src/router/ConnectionMap';
import { longHeaderPacket, shortHeaderPacket } from '../../src/testing/fakeIncoming';
import { cid } from '../helpers/marbles';

/** A route that is only compared by identity. */
function route(): ConnectionRoute {
  return { deliver: () => undefined };
}

/** @test {ConnectionMap} */
describe('ConnectionMap', () => {
  it('finds the owner of a long-header packet by its DCID, of any length', () => {
    const map = new ConnectionMap();
    const a = route();
    const b = route();
    map.map(cid(0xa1, 8), a);
    map.map(cid(0xb1, 20), b);

    expect(map.lookup(longHeaderPacket({ type: 'handshake', dcid: cid(0xa1, 8) }))).toBe(a);
    expect(map.lookup(longHeaderPacket({ type: 'initial', dcid: cid(0xb1, 20) }))).toBe(b);
    expect(map.lookup(longHeaderPacket({ type: 'initial', dcid: cid(0xa1, 9) }))).toBeUndefined();
  });

  it('finds the owner of a short-header packet by trying each CID length in use', () => {
    const map = new ConnectionMap();
    const a = route();
    const b = route();
    const c = route();
    map.map(cid(0xa1, 4), a);
    map.map(cid(0xb1, 8), b);
    map.map(cid(0xc1, 20), c);

    expect(map.lookup(shortHeaderPacket(cid(0xa1, 4)))).toBe(a);
    expect(map.lookup(shortHeaderPacket(cid(0xb1, 8)))).toBe(b);
    expect(map.lookup(shortHeaderPacket(cid(0xc1, 20)))).toBe(c);
    expect(map.lookup(shortHeaderPacket(cid(0xd1, 8)))).toBeUndefined();
  });

  it('maps several CIDs to one connection', () => {
    const map = new ConnectionMap();
    const a = route();
    map.map(cid(0xa1), a);
    map.map(cid(0xa2), a);
    map.map(cid(0xa3, 16), a);

    expect(map.size).toBe(3);
    for (const id of [cid(0xa1), cid(0xa2), cid(0xa3, 16)]) {
      expect(map.lookup(shortHeaderPacket(id))).toBe(a);
      expect(map.has(id)).toBe(true);
    }
  });

  it('forgets an unmapped CID and keeps the connection\'s other CIDs', () => {
    const map = new ConnectionMap();
    const a = route();
    map.map(cid(0xa1), a);
    map.map(cid(0xa2), a);

    map.unmap(cid(0xa1));

    expect(map.has(cid(0xa1))).toBe(false);
    expect(map.lookup(shortHeaderPacket(cid(0xa1)))).toBeUndefined();
    expect(map.lookup(longHeaderPacket({ dcid: cid(0xa1) }))).toBeUndefined();
    expect(map.lookup(shortHeaderPacket(cid(0xa2)))).toBe(a);
    expect(map.size).toBe(1);
  });

  it('stops trying a CID length for short headers once no CID of that length is mapped', () => {
    const map = new ConnectionMap();
    const a = route();
    const b = route();
    map.map(cid(0xa1, 4), a);
    map.map(cid(0xb1, 8), b);
    map.unmap(cid(0xa1, 4));

    // The first 4 bytes of this DCID are a's old CID; only 8-byte CIDs are still in use.
    const datagram = shortHeaderPacket(Buffer.concat([cid(0xa1, 4), cid(0x00, 4)]));
    expect(map.lookup(datagram)).toBeUndefined();
    expect(map.lookup(shortHeaderPacket(cid(0xb1, 8)))).toBe(b);
  });

  it('replaces the owner when a CID is mapped again, and counts it once', () => {
    const map = new ConnectionMap();
    const a = route();
    const b = route();
    map.map(cid(0xa1), a);
    map.map(cid(0xa1), b);

    expect(map.size).toBe(1);
    expect(map.lookup(shortHeaderPacket(cid(0xa1)))).toBe(b);

    map.unmap(cid(0xa1));
    expect(map.size).toBe(0);
    expect(map.lookup(shortHeaderPacket(cid(0xa1)))).toBeUndefined();
  });

  it('ignores an unmap of a CID it does not hold', () => {
    const map = new ConnectionMap();
    const a = route();
    map.map(cid(0xa1), a);

    map.unmap(cid(0xee));
    map.unmap(cid(0xa1, 4));

    expect(map.size).toBe(1);
    expect(map.lookup(shortHeaderPacket(cid(0xa1)))).toBe(a);
  });

  it('compares CIDs by their bytes, not by the array object', () => {
    const map = new ConnectionMap();
    const a = route();
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    map.map(bytes, a);

    // A view into a larger buffer, as the router sees a DCID inside a datagram.
    const view = new Uint8Array([9, 1, 2, 3, 4, 5, 6, 7, 8, 9]).subarray(1, 9);
    expect(map.has(view)).toBe(true);
    map.unmap(Buffer.from(bytes));
    expect(map.has(bytes)).toBe(false);
  });

  it('finds nothing in datagrams too short to carry a DCID', () => {
    const map = new ConnectionMap();
    map.map(cid(0xa1), route());

    expect(map.lookup(new Uint8Array(0))).toBeUndefined();
    expect(map.lookup(Uint8Array.from([0x40, 0xa1, 0xa1]))).toBeUndefined();
    expect(map.lookup(Uint8Array.from([0xc0, 0, 0, 0, 1, 8, 0xa1]))).toBeUndefined();
  });
});
