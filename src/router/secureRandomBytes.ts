import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let offset = 0;

/**
 * `n` cryptographically random bytes, cut from a pool that `crypto.randomFillSync` fills 4 KiB at a
 * time: connection IDs and stateless-reset tokens are drawn for every connection, and one
 * `randomBytes` call each cost more than the rest of the ID's bookkeeping.
 *
 * Every byte is handed out once; a used-up pool is replaced, never refilled, so the views returned
 * earlier keep their bytes. The result is a view onto the pool: copy it to keep it apart from the
 * pool's memory.
 */
export function secureRandomBytes(n: number): Uint8Array {
  if (n > POOL_SIZE / 8) return randomFillSync(new Uint8Array(n));
  if (offset + n > pool.length) {
    pool = randomFillSync(new Uint8Array(POOL_SIZE));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}
