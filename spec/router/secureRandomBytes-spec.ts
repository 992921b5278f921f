import { secureRandomBytes } from '../../src/router/secureRandomBytes';

describe('secureRandomBytes', () => {
  it('hands out each pooled byte once: views never overlap and keep their bytes across pool refills', () => {
    const taken = Array.from({ length: 1000 }, () => secureRandomBytes(20)); // ~5 pools
    const copies = taken.map((b) => Buffer.from(b));
    for (const b of taken) expect(b.length).toBe(20);
    // Drawing more (and replacing pools) changes none of the earlier results.
    for (let i = 0; i < 500; i++) secureRandomBytes(16);
    taken.forEach((b, i) => expect(Buffer.from(b).equals(copies[i]!)).toBe(true));
    // Views from one pool are disjoint ranges of it.
    const ranges = new Map<ArrayBufferLike, Array<[number, number]>>();
    for (const b of taken) {
      const list = ranges.get(b.buffer) ?? [];
      list.push([b.byteOffset, b.byteOffset + b.length]);
      ranges.set(b.buffer, list);
    }
    expect(ranges.size).toBeGreaterThan(1);
    for (const list of ranges.values()) {
      list.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < list.length; i++) expect(list[i]![0]).toBeGreaterThanOrEqual(list[i - 1]![1]);
    }
  });

  it('gives distinct, non-constant values', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => Buffer.from(secureRandomBytes(8)).toString('hex')));
    expect(seen.size).toBe(2000);
    const all = Buffer.concat(Array.from({ length: 64 }, () => secureRandomBytes(16)));
    const ones = [...all].reduce((n, byte) => n + byte.toString(2).split('1').length - 1, 0);
    // 8192 random bits: the count of ones is within ~7 standard deviations of 4096.
    expect(Math.abs(ones - 4096)).toBeLessThan(320);
  });

  it('serves large requests from their own buffer', () => {
    const big = secureRandomBytes(4096);
    expect(big.length).toBe(4096);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(4096);
    expect(secureRandomBytes(0).length).toBe(0);
  });
});
