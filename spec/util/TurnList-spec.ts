import { TurnList } from '../../src/util/TurnList';

class Item {
  listed = 0;
  constructor(readonly id: number) {}
}

/** What `drain` calls, in order. */
function drained<T extends object>(list: TurnList<T>, order?: (a: T, b: T) => number): T[] {
  const called: T[] = [];
  list.drain((item) => called.push(item), order);
  return called;
}

describe('TurnList', () => {
  it('lists each item once, in the order first listed, until drained', () => {
    const list = new TurnList<Item>('listed');
    const [a, b, c] = [new Item(1), new Item(2), new Item(3)];
    list.add(b);
    list.add(a);
    list.add(b);
    list.add(c);
    expect(list.size).toBe(3);
    expect(list.has(a)).toBe(true);
    expect(a.listed).toBe(2); // its place, plus one
    expect(drained(list)).toEqual([b, a, c]);
    expect(list.size).toBe(0);
    expect(list.has(a)).toBe(false);
    expect(drained(list)).toEqual([]);
  });

  it('sorts what it drains when given an order', () => {
    const list = new TurnList<Item>('listed');
    for (const id of [3, 1, 2]) list.add(new Item(id));
    expect(drained(list, (x, y) => x.id - y.id).map((item) => item.id)).toEqual([1, 2, 3]);
  });

  it('leaves out what was deleted, and lists an item deleted and listed again once, at its new place', () => {
    const list = new TurnList<Item>('listed');
    const [a, b, c] = [new Item(1), new Item(2), new Item(3)];
    list.add(a);
    list.add(b);
    list.add(c);
    expect(list.delete(b)).toBe(true);
    expect(list.delete(b)).toBe(false);
    expect(list.size).toBe(2);
    list.delete(a);
    list.add(a);
    expect(drained(list)).toEqual([c, a]);
  });

  it('keeps items listed during a drain for the next one, and survives a drain inside a drain', () => {
    const list = new TurnList<Item>('listed');
    const [a, b, c] = [new Item(1), new Item(2), new Item(3)];
    list.add(a);
    const outer: Item[] = [];
    const inner: Item[] = [];
    list.drain((item) => {
      outer.push(item);
      list.add(item); // asks again, for the next drain
      list.add(b);
      list.drain((x) => inner.push(x));
      list.add(c);
    });
    expect(outer).toEqual([a]);
    expect(inner).toEqual([a, b]);
    expect(drained(list)).toEqual([c]);
    // And again, through the arrays it reuses.
    list.add(b);
    list.add(a);
    expect(drained(list)).toEqual([b, a]);
  });

  it('finishes a drain when the callback throws, and lists again afterwards', () => {
    const list = new TurnList<Item>('listed');
    const [a, b] = [new Item(1), new Item(2)];
    list.add(a);
    list.add(b);
    expect(() =>
      list.drain(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(list.size).toBe(0);
    list.add(b);
    expect(drained(list)).toEqual([b]);
  });

  it('forgets its items once nothing is listed, and on clear()', () => {
    const list = new TurnList<Item>('listed');
    const items = [new Item(1), new Item(2)];
    for (const item of items) list.add(item);
    for (const item of items) list.delete(item);
    expect((list as unknown as { items: Item[] }).items).toEqual([]);
    for (const item of items) list.add(item);
    list.clear();
    expect(list.size).toBe(0);
    expect(items.every((item) => item.listed === 0)).toBe(true);
    expect(drained(list)).toEqual([]);
  });

  it('keeps two lists apart through their own marks', () => {
    class Both {
      inFirst = 0;
      inSecond = 0;
    }
    const first = new TurnList<Both>('inFirst');
    const second = new TurnList<Both>('inSecond');
    const x = new Both();
    first.add(x);
    expect(second.has(x)).toBe(false);
    second.add(x);
    expect(drained(first)).toEqual([x]);
    expect(second.has(x)).toBe(true);
  });
});
