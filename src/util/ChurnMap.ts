/**
 * A `Map` for entries that come and go all the time: a connection's streams, a socket's
 * connection IDs. After as many deletions as it holds entries (and at least 64), it moves its
 * entries into a fresh `Map` at the next insertion; otherwise it is a `Map`.
 *
 * Why: V8 links a `Map`'s old hash table to its new one whenever it rehashes, and a `Map` with
 * steady insertions and deletions rehashes all the time. Once one of its tables has reached the
 * old generation, the chain from that table keeps every table made since, and every value they
 * held, alive through young collections until the next full GC. In a plain Node process, a
 * server's `Map` of streams with 100 requests in flight made each scavenge copy ~2 MB and pause
 * 6-7 ms, on both ends. A fresh `Map` starts no chain, and these moves come often enough that a
 * `Map` is seldom old enough to have one: the same run promoted nothing. The moves cost O(1) per
 * deletion, amortized.
 *
 * Iterating (`values()`, `keys()`, `for...of`) walks the `Map` current when it began: an entry
 * added meanwhile may not be visited.
 */
export class ChurnMap<K, V> implements Iterable<[K, V]> {
  private map = new Map<K, V>();
  // Deletions since the entries last moved.
  private deletions = 0;

  /** How many entries there are. */
  get size(): number {
    return this.map.size;
  }

  /** The value for `key`, or `undefined`. */
  get(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Whether `key` has a value. */
  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Sets `key` to `value`. */
  set(key: K, value: V): this {
    if (this.deletions > 64 && this.deletions > this.map.size) {
      this.map = new Map(this.map);
      this.deletions = 0;
    }
    this.map.set(key, value);
    return this;
  }

  /** Deletes `key`; whether it had a value. */
  delete(key: K): boolean {
    if (!this.map.delete(key)) return false;
    this.deletions++;
    return true;
  }

  /** Deletes every entry (by starting a fresh `Map`: clearing one links its tables too). */
  clear(): void {
    this.map = new Map();
    this.deletions = 0;
  }

  /** The values, in insertion order. */
  values(): IterableIterator<V> {
    return this.map.values();
  }

  /** The keys, in insertion order. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  /** The entries, in insertion order. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  /** Calls `fn` for each entry, in insertion order. */
  forEach(fn: (value: V, key: K) => void): void {
    this.map.forEach((value, key) => fn(value, key));
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
