/**
 * A log-linear histogram of durations (HDR-style): values from 1 ns to about 1 hour, kept with a
 * relative error under 1 / 2^SUB_BITS (0.8% at 7 bits), in a fixed array of counters, so that
 * recording is O(1) and memory does not grow with the number of samples.
 *
 * Bucket layout: values below 2^SUB_BITS are exact; above, each power-of-two range [2^k, 2^(k+1))
 * is split into 2^SUB_BITS equal sub-buckets.
 */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
const MAX_EXP = 42; // 2^42 ns ≈ 73 minutes

export class LogLinearHistogram {
  private readonly counts = new Float64Array((MAX_EXP - SUB_BITS + 2) * SUB);
  private n = 0;
  private minV = Infinity;
  private maxV = -Infinity;
  private sum = 0;

  /** Records one value, in nanoseconds (fractions are truncated; negatives count as 0). */
  record(ns: number): void {
    const v = Math.max(0, Math.floor(ns));
    this.counts[LogLinearHistogram.index(v)]!++;
    this.n++;
    this.sum += v;
    if (v < this.minV) this.minV = v;
    if (v > this.maxV) this.maxV = v;
  }

  get count(): number {
    return this.n;
  }
  get min(): number {
    return this.n ? this.minV : NaN;
  }
  get max(): number {
    return this.n ? this.maxV : NaN;
  }
  get mean(): number {
    return this.n ? this.sum / this.n : NaN;
  }

  /** The value at percentile p (0–100): the upper edge of the bucket holding it, capped at max. */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(LogLinearHistogram.upper(i), this.maxV);
    }
    return this.maxV;
  }

  /** Adds another histogram's counts into this one. */
  merge(other: LogLinearHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    this.sum += other.sum;
    this.minV = Math.min(this.minV, other.minV);
    this.maxV = Math.max(this.maxV, other.maxV);
  }

  /** A plain form that survives IPC. */
  toJSON(): { counts: number[]; n: number; min: number; max: number; sum: number } {
    const counts: number[] = [];
    // Sparse: [index, count] pairs.
    this.counts.forEach((c, i) => {
      if (c) counts.push(i, c);
    });
    return { counts, n: this.n, min: this.minV, max: this.maxV, sum: this.sum };
  }

  static fromJSON(j: { counts: number[]; n: number; min: number; max: number; sum: number }): LogLinearHistogram {
    const h = new LogLinearHistogram();
    for (let k = 0; k < j.counts.length; k += 2) h.counts[j.counts[k]!] = j.counts[k + 1]!;
    h.n = j.n;
    h.minV = j.min ?? Infinity;
    h.maxV = j.max ?? -Infinity;
    h.sum = j.sum;
    return h;
  }

  private static index(v: number): number {
    if (v < SUB) return v;
    const exp = Math.min(Math.floor(Math.log2(v)), MAX_EXP);
    // Guard against log2 rounding at exact powers of two.
    const e = 2 ** exp > v ? exp - 1 : exp;
    const sub = Math.min(SUB - 1, Math.floor((v / 2 ** e - 1) * SUB));
    return (e - SUB_BITS + 1) * SUB + sub;
  }

  private static upper(i: number): number {
    if (i < SUB) return i;
    const e = Math.floor(i / SUB) + SUB_BITS - 1;
    const sub = i % SUB;
    return Math.floor(2 ** e * (1 + (sub + 1) / SUB)) - 1;
  }
}
