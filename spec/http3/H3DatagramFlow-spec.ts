import { take, toArray } from 'rxjs';

import { DatagramFlow, decodeVarint, encodeVarint, flowIdOf, MAX_QUEUED_DATAGRAMS } from '../../src/http3/H3DatagramFlow';

/** @test {DatagramFlow} */
describe('DatagramFlow', () => {
  it('should queue datagrams until incoming$ is subscribed, then deliver them in order', () => {
    const flow = new DatagramFlow(1, { wake: () => undefined });
    flow.deliver(Uint8Array.of(1));
    flow.deliver(Uint8Array.of(2));
    const seen: number[] = [];
    flow.incoming$.subscribe((d) => seen.push(d[0]!));
    flow.deliver(Uint8Array.of(3));
    expect(seen).toEqual([1, 2, 3]);
  });

  it(`should drop the newest datagram (and count it) when ${MAX_QUEUED_DATAGRAMS} wait`, () => {
    const flow = new DatagramFlow(0, { wake: () => undefined });
    for (let i = 0; i < MAX_QUEUED_DATAGRAMS + 5; i++) flow.deliver(new Uint8Array(Uint16Array.of(i).buffer));
    expect(flow.droppedIncoming).toBe(5);
    let count = 0;
    let last = -1;
    flow.incoming$.subscribe((d) => {
      count++;
      last = new Uint16Array(d.buffer)[0]!;
    });
    expect(count).toBe(MAX_QUEUED_DATAGRAMS);
    expect(last).toBe(MAX_QUEUED_DATAGRAMS - 1); // the oldest were kept
  });

  it('should prefix outgoing datagrams with the flow id and wake the driver', () => {
    let wakes = 0;
    const flow = new DatagramFlow(70, { wake: () => wakes++ });
    flow.send(Uint8Array.of(9, 9));
    expect(wakes).toBe(1);
    expect([...flow.outgoing[0]!]).toEqual([0x40, 70, 9, 9]);
  });

  it('should complete incoming$ and drop what is sent once closed', () => {
    const flow = new DatagramFlow(2, { wake: () => undefined });
    flow.deliver(Uint8Array.of(1));
    flow.close();
    flow.send(Uint8Array.of(1));
    expect(flow.droppedOutgoing).toBe(1);
    const values: Uint8Array[] = [];
    let completed = false;
    flow.incoming$.pipe(take(5), toArray()).subscribe({ next: (v) => values.push(...v), complete: () => (completed = true) });
    expect(values).toHaveLength(1);
    expect(completed).toBe(true);
  });

  it('should allow one incoming$ subscriber at a time', () => {
    const flow = new DatagramFlow(2, { wake: () => undefined });
    flow.incoming$.subscribe();
    let error: unknown;
    flow.incoming$.subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).toMatch(/already has a subscriber/);
  });
});

describe('flowIdOf', () => {
  it('should give an extended CONNECT flow streamId / 4 and other requests none', () => {
    const connect = [
      { name: ':method', value: 'CONNECT' },
      { name: ':protocol', value: 'connect-udp' },
    ];
    expect(flowIdOf(8, connect)).toBe(2);
    expect(flowIdOf(8, [{ name: ':method', value: 'CONNECT' }])).toBeNull();
    expect(flowIdOf(8, [{ name: ':method', value: 'GET' }])).toBeNull();
  });
});

describe('QUIC varints', () => {
  it.each([0, 63, 64, 16383, 16384, 1073741823, 1073741824, 2 ** 53 - 1])('should round-trip %d in the shortest form', (v) => {
    const encoded = encodeVarint(v);
    expect(encoded.length).toBe(v < 64 ? 1 : v < 16384 ? 2 : v < 1073741824 ? 4 : 8);
    expect(decodeVarint(encoded)).toEqual([v, encoded.length]);
  });

  it('should accept a non-minimal encoding and report a truncated one', () => {
    expect(decodeVarint(Uint8Array.of(0x40, 0x05, 0xff))).toEqual([5, 2]);
    expect(decodeVarint(Uint8Array.of(0x80, 0x00))).toBeNull();
    expect(decodeVarint(new Uint8Array())).toBeNull();
  });
});
