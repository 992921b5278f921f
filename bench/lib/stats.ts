/** Medians, ratios and Markdown tables for the benchmarks' reports. */

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function minMax(xs: readonly number[]): [number, number] {
  const s = xs.filter((x) => Number.isFinite(x));
  return s.length ? [Math.min(...s), Math.max(...s)] : [NaN, NaN];
}

/** `a / b` with two decimals, or '–' when either is missing. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (a / b).toFixed(2) : '–';
}

/** A number with `digits` decimals (thousands separated when large), or '–'. */
export function fmt(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 10_000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? (bytes / 1024 / 1024).toFixed(1) : '–';
}

/** Prints a Markdown table. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** Collects samples and failures per key (a pair, a scenario), in insertion order. */
export class Samples<S> {
  private readonly ok = new Map<string, S[]>();
  private readonly failed = new Map<string, string[]>();

  add(key: string, s: S): void {
    this.list(key).push(s);
  }
  fail(key: string, why: string): void {
    this.list(key);
    let f = this.failed.get(key);
    if (!f) this.failed.set(key, (f = []));
    f.push(why);
  }
  list(key: string): S[] {
    let l = this.ok.get(key);
    if (!l) this.ok.set(key, (l = []));
    return l;
  }
  failures(key: string): string[] {
    return this.failed.get(key) ?? [];
  }
  median(key: string, f: (s: S) => number): number {
    return median(this.list(key).map(f));
  }
  /** "ok/attempted" for a key. */
  count(key: string): string {
    const n = this.list(key).length;
    return `${n}/${n + this.failures(key).length}`;
  }
  printFailures(): void {
    for (const [k, f] of this.failed) {
      if (f.length === 0) continue;
      // Identical reasons once, with a count.
      const counts = new Map<string, number>();
      for (const why of f) counts.set(why, (counts.get(why) ?? 0) + 1);
      console.log(`FAILED ${k}: ${[...counts].map(([w, n]) => (n > 1 ? `${n}× ${w}` : w)).join('; ')}`);
    }
  }
}
