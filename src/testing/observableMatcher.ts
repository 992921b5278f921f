import { AssertionError } from 'node:assert';
import { TestScheduler } from 'rxjs/testing';

/**
 * The assertion for `new TestScheduler(observableMatcher)`: a deep equality that ignores error
 * stacks, for any test runner.
 *
 * <span class="informal">Compares the recorded notifications of `expectObservable` and
 * `expectSubscriptions`, and prints them one per line when they differ.</span>
 *
 * An error in an `#` notification is compared by its `name`, `message` and own enumerable fields
 * (a `QuicError`'s `code`, a stream error's `streamId`), never by its stack or `cause`, so an
 * expected `new QuicError('ApplicationError', '…')` matches the one the code under test threw.
 * Otherwise it compares like jest's `toEqual`: properties that are `undefined` are ignored, class
 * instances compare by their fields, and byte arrays (`Buffer`, `Uint8Array`) by their bytes.
 *
 * ## Example
 * ```ts
 * let testScheduler: TestScheduler;
 * beforeEach(() => {
 *   testScheduler = new TestScheduler(observableMatcher);
 * });
 * ```
 *
 * @see {@link createTestScheduler}
 * @param actual What the code under test did.
 * @param expected What the marble diagram says.
 * @throws AssertionError (from `node:assert`) when they differ.
 */
export function observableMatcher(actual: unknown, expected: unknown): void {
  const a = withoutStacks(actual);
  const e = withoutStacks(expected);
  if (deepEqual(a, e)) return;
  throw new AssertionError({
    message: `\nExpected\n${describe(a)}\nto deep equal\n${describe(e)}\n`,
    actual: a,
    expected: e,
    operator: 'observableMatcher',
  });
}

/**
 * A `TestScheduler` that asserts with {@link observableMatcher}.
 *
 * @returns A new scheduler; make one per test (`beforeEach`).
 */
export function createTestScheduler(): TestScheduler {
  return new TestScheduler(observableMatcher);
}

/** Replaces every error in a notification log by its name, message and enumerable fields. */
function withoutStacks(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((entry: unknown) => {
    if (!isRecord(entry) || !isRecord(entry.notification)) return entry;
    const n = entry.notification;
    if (n.kind !== 'E' || !isErrorLike(n.error)) return entry;
    return { ...entry, notification: { ...n, error: plainError(n.error) } };
  });
}

function plainError(error: Error): Record<string, unknown> {
  const plain: Record<string, unknown> = { name: error.name, message: error.message };
  for (const key of Object.keys(error)) {
    if (key !== 'stack') plain[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return plain;
}

/** jest `toEqual`-like equality: ignores undefined properties and prototypes; bytes by content. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return false;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (a instanceof Map || b instanceof Map || a instanceof Set || b instanceof Set) {
    return deepEqual([...(a as Iterable<unknown>)], [...(b as Iterable<unknown>)]);
  }
  if (isErrorLike(a) && isErrorLike(b)) {
    return deepEqual(plainError(a), plainError(b));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const key of keys) {
    if (!deepEqual(ra[key], rb[key])) return false;
  }
  return true;
}

/** One line per recorded notification or subscription. */
function describe(log: unknown): string {
  if (!Array.isArray(log)) return `\t${show(log)}`;
  if (log.length === 0) return '\t(nothing)';
  return log.map((entry) => `\t${describeEntry(entry)}`).join('\n');
}

function describeEntry(entry: unknown): string {
  if (isRecord(entry) && isRecord(entry.notification)) {
    const n = entry.notification;
    const at = `frame ${String(entry.frame)}:`;
    if (n.kind === 'N') return `${at} next ${show(n.value)}`;
    if (n.kind === 'E') return `${at} error ${show(n.error)}`;
    return `${at} complete`;
  }
  if (isRecord(entry) && 'subscribedFrame' in entry) {
    const end = entry.unsubscribedFrame === Number.POSITIVE_INFINITY ? 'never' : String(entry.unsubscribedFrame);
    return `subscribed at ${String(entry.subscribedFrame)}, unsubscribed at ${end}`;
  }
  return show(entry);
}

/** JSON, with bytes shown as text when printable and as hex otherwise. */
function show(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    // JSON.stringify turns a Buffer into { type, data } before the replacer sees it: read the holder.
    const raw = key === '' ? v : (this as Record<string, unknown>)[key];
    if (ArrayBuffer.isView(raw)) return showBytes(raw);
    if (typeof raw === 'bigint') return `${raw}n`;
    if (raw === undefined) return 'undefined';
    if (isRecord(raw)) {
      if (seen.has(raw)) return '[circular]';
      seen.add(raw);
    }
    return v;
  }) ?? 'undefined';
}

function showBytes(view: ArrayBufferView): string {
  const buf = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  const text = buf.toString('utf8');
  const printable = /^[\x20-\x7e\n\r\t]*$/.test(text);
  return printable ? `bytes("${text}")` : `bytes(0x${buf.toString('hex')})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isErrorLike(value: unknown): value is Error {
  return isRecord(value) && typeof value.message === 'string' && typeof value.name === 'string' && 'stack' in value;
}
