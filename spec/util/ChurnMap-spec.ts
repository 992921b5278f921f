import * as v8 from 'node:v8';
import * as vm from 'node:vm';

import { ChurnMap } from '../../src/util/ChurnMap';

type Gc = (options?: { type: 'minor' | 'major' }) => void;

function exposeGc(): Gc {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as Gc;
}

function oldSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
}

describe('ChurnMap', () => {
  it('should get, set, delete and count like a Map', () => {
    const m = new ChurnMap<number, string>();
    expect(m.set(4, 'a')).toBe(m);
    m.set(0, 'b');
    m.set(4, 'c');
    expect(m.size).toBe(2);
    expect(m.get(4)).toBe('c');
    expect(m.has(0)).toBe(true);
    expect(m.get(8)).toBeUndefined();
    expect(m.delete(8)).toBe(false);
    expect(m.delete(0)).toBe(true);
    expect(m.has(0)).toBe(false);
    expect([...m]).toEqual([[4, 'c']]);
    expect([...m.entries()]).toEqual([[4, 'c']]);
    const seen: Array<[number, string]> = [];
    m.forEach((value, key) => seen.push([key, value]));
    expect(seen).toEqual([[4, 'c']]);
    m.clear();
    expect(m.size).toBe(0);
    expect([...m.values()]).toEqual([]);
  });

  it('should keep every entry, in insertion order, while entries come and go', () => {
    const m = new ChurnMap<number, number>();
    const live = new Map<number, number>();
    for (let id = 0; id < 5000; id++) {
      m.set(id * 4, id);
      live.set(id * 4, id);
      if (id % 7 !== 0 && id >= 30) {
        m.delete((id - 30) * 4);
        live.delete((id - 30) * 4);
      }
    }
    expect(m.size).toBe(live.size);
    expect([...m.keys()]).toEqual([...live.keys()]);
    expect([...m.values()]).toEqual([...live.values()]);
  });

  // The reason it exists: a long-lived Map with churn keeps what it held past young collections
  // (V8 links each rehashed table to the next), so each scavenge copies it into the old space. A
  // plain Map in place of the ChurnMap here promotes ~4 MB.
  it('should let young collections free what it held, once it is old itself', () => {
    const gc = exposeGc();
    const holder = { map: new ChurnMap<number, { id: number; payload: number[] }>() };
    gc();
    gc(); // the holder and its map are in the old generation now
    const before = oldSpaceUsed();
    for (let round = 0; round < 4; round++) {
      for (let id = round * 5000; id < (round + 1) * 5000; id++) {
        holder.map.set(id, { id, payload: new Array<number>(30).fill(id) });
        if (holder.map.size > 10) holder.map.delete(id - 10);
      }
      gc({ type: 'minor' });
    }
    gc({ type: 'minor' });
    expect(oldSpaceUsed() - before).toBeLessThan(500_000);
    expect(holder.map.size).toBe(10);
  });
});
