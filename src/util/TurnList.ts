/**
 * The name of a numeric field of `T`, where a `TurnList` keeps its membership instead of in a hash
 * table: 0 when the item is not listed (initialize it to 0), its place in the list plus one when
 * it is.
 */
export type MarkField<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];

/**
 * A driver's work list for its next turn (streams with writes pending, streams whose readers want
 * more, flows with datagrams queued): a `Set` with no hash table. Each item is listed at most once
 * until the list is drained, in the order of insertion as in a `Set`; membership lives in a numeric
 * field of the item that this list alone writes (`mark`), and the items in an array.
 *
 * Why not a `Set`: a driver outlives millions of turns, and a `Set` per turn (or one `Set`,
 * cleared) gives V8 hash tables that it links to their successors. Once a young collection has
 * promoted one of them, as a full GC in the middle of a turn does, every scavenge after it
 * promoted the turns' tables and the streams they held (~0.5 MB each with 100 requests in flight,
 * 5.5 MB in a process with a large heap) until the next full GC. An array and a mark make none.
 *
 * `delete` only clears the item's mark; `drain` leaves out the places whose item is no longer
 * marked with them.
 */
export class TurnList<T extends object> {
  // Where items are listed.
  private items: T[] = [];
  // The array the last drain worked through, emptied, for the next list; null while a drain is
  // working through it. So a list allocates nothing per turn: an array made per turn is one V8
  // may decide to allocate straight in the old generation (after a full GC found the current one
  // alive), and each such list would keep its streams alive through young collections.
  private spare: T[] | null = [];
  private count = 0;

  /** @param mark The item's numeric field that says where it is listed; only this list writes it. */
  constructor(private readonly mark: MarkField<T>) {}

  /** How many items are listed. */
  get size(): number {
    return this.count;
  }

  /** Whether `item` is listed. */
  has(item: T): boolean {
    return (item[this.mark] as number) > 0;
  }

  /** Lists `item` at the end, unless it is listed already. */
  add(item: T): void {
    if ((item[this.mark] as number) > 0) return;
    (item[this.mark] as number) = this.items.push(item);
    this.count++;
  }

  /** Unlists `item`; whether it was listed. */
  delete(item: T): boolean {
    if ((item[this.mark] as number) === 0) return false;
    (item[this.mark] as number) = 0;
    // Nothing listed: drop the unlisted places now rather than at the next drain.
    if (--this.count === 0) this.items.length = 0;
    return true;
  }

  /**
   * Unlists every listed item and calls `each` with it, in the order they were listed (or sorted
   * by `order`). Items listed meanwhile (an item asking again) are for the next drain; an item
   * deleted meanwhile is still called.
   */
  drain(each: (item: T) => void, order?: (a: T, b: T) => number): void {
    const listed = this.items;
    let kept = 0;
    for (let i = 0; i < listed.length; i++) {
      const item = listed[i]!;
      // A place whose item was deleted (and maybe listed again further on) is skipped.
      if (item[this.mark] !== i + 1) continue;
      (item[this.mark] as number) = 0;
      listed[kept++] = item;
    }
    listed.length = kept;
    this.items = this.spare ?? [];
    this.spare = null;
    this.count = 0;
    if (order !== undefined && kept > 1) listed.sort(order);
    try {
      for (let i = 0; i < kept; i++) each(listed[i]!);
    } finally {
      listed.length = 0;
      this.spare = listed;
    }
  }

  /** Unlists every item. */
  clear(): void {
    for (const item of this.items) (item[this.mark] as number) = 0;
    this.items.length = 0;
    this.count = 0;
  }
}
