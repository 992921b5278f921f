import { TurnList } from '../../src/util/TurnList';

class Item {
  listed = 0;
  constructor(readonly id: number) {}
}

describe('TurnList', () => {
  it('lists each item once, in the order first listed, until taken', () => {
    const list = new TurnList<Item>('listed');
    const [a, b, c] = [new Item(1), new Item(2), new Item(3)];
    list.add(b);
    list.add(a);
    list.add(b);
    list.add(c);
    expect(list.size).toBe(3);
    expect(list.has(a)).toBe(true);
    expect(a.listed).toBe(2); // its place, plus one
    expect(list.take()).toEqual([b, a, c]);
    expect(list.size).toBe(0);
    expect(list.has(a)).toBe(false);
    expect(list.take()).toEqual([]);
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
    expect(list.take()).toEqual([c, a]);
  });

  it('starts a new list at take(): items listed while the taken ones are worked through wait', () => {
    const list = new TurnList<Item>('listed');
    const [a, b] = [new Item(1), new Item(2)];
    list.add(a);
    const taken = list.take();
    for (const item of taken) {
      list.add(item); // asks again, for the next turn
      list.add(b);
    }
    expect(taken).toEqual([a]);
    expect(list.take()).toEqual([a, b]);
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
    expect(list.take()).toEqual([]);
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
    expect(first.take()).toEqual([x]);
    expect(second.has(x)).toBe(true);
  });
});
