/**
 * Checks shared by the settings resolvers. Each throws a {@link QuicSettingsError} naming the
 * setting, with a message that says what would be valid.
 *
 * Internal: not exported from the package.
 */
import { types } from 'node:util';

import { QuicSettingsError } from '../errors/QuicSettingsError';

/** The largest value of an unsigned 32-bit field of the native config. */
export const U32_MAX = 0xffff_ffff;

/**
 * Tells whether `value` is a `Uint8Array` (a `Buffer` is one), from any realm: `instanceof` says no
 * to a `Buffer` inside a `vm` context such as jest's sandbox.
 */
export function isBytes(value: unknown): value is Uint8Array {
  return types.isUint8Array(value);
}

/**
 * Formats a value for an error message without dumping large objects.
 */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (isBytes(value)) return `a ${value.constructor.name} of ${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Checks that `value` is a boolean.
 */
export function checkBoolean(setting: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new QuicSettingsError(setting, `${setting} must be a boolean, got ${show(value)}`);
  }
  return value;
}

/**
 * Checks that `value` is an integer in `[min, max]` (both inclusive).
 *
 * @param unit Appended to the message, e.g. `'ms'` or `'bytes'`.
 */
export function checkInteger(
  setting: string,
  value: unknown,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
  unit?: string,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    const suffix = unit === undefined ? '' : ` (${unit})`;
    throw new QuicSettingsError(setting, `${setting} must be ${range}${suffix}, got ${show(value)}`);
  }
  return value;
}

/**
 * Checks that `value` is a finite number greater than zero (fractions allowed).
 */
export function checkPositiveNumber(setting: string, value: unknown, unit?: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    const suffix = unit === undefined ? '' : ` (${unit})`;
    throw new QuicSettingsError(setting, `${setting} must be a positive number${suffix}, got ${show(value)}`);
  }
  return value;
}

/**
 * Checks that `value` is a non-empty string.
 */
export function checkNonEmptyString(setting: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new QuicSettingsError(setting, `${setting} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/**
 * Checks that `value` is one of `choices`.
 */
export function checkOneOf<T extends string>(setting: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new QuicSettingsError(setting, `${setting} must be one of ${choices.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/**
 * Checks that `value` is a `Uint8Array` (a `Buffer` is one) of exactly `length` bytes, and
 * returns a copy, so that the caller's later writes do not change resolved settings.
 */
export function checkBytes(setting: string, value: unknown, length: number): Uint8Array {
  if (!isBytes(value) || value.length !== length) {
    throw new QuicSettingsError(setting, `${setting} must be a Uint8Array of ${length} bytes, got ${show(value)}`);
  }
  return Uint8Array.from(value);
}

/**
 * Checks that `value` is a plain object (not null, not an array), as a settings object must be.
 */
export function checkObject(setting: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new QuicSettingsError(setting, `${setting} must be an object, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Rejects a key of `input` that is not a key of `defaults`: a misspelt setting would otherwise be
 * ignored without a word.
 *
 * @param prefix Put before the key in the `setting` path, e.g. `'http3.'`.
 */
export function rejectUnknownKeys(input: Record<string, unknown>, known: ReadonlySet<string>, prefix = ''): void {
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      throw new QuicSettingsError(`${prefix}${key}`, `${prefix}${key} is not a setting`);
    }
  }
}
