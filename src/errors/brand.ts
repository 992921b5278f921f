/**
 * Brands for the error classes, so that `instanceof` holds across two copies of this package.
 *
 * Two copies load side by side when, say, an application and one of its dependencies each install
 * their own rxjs-quiche. Each copy has its own `QuicError` class object, so the plain prototype check
 * of `instanceof` would say no. Instead, every class registered here marks its prototype with a
 * global symbol (`Symbol.for('rxjs-quiche.<ClassName>')`, the same in every copy), and
 * `QuicError[Symbol.hasInstance]` looks for that symbol. A user's own subclass is not registered
 * and gets the ordinary prototype check.
 *
 * Internal: not exported from the package.
 */

// The brand symbol of each registered class of this copy of the package.
const brands = new WeakMap<object, symbol>();

/**
 * Registers `ctor` as a branded error class: gives its prototype the brand symbol and the `name`.
 *
 * Call it once, right after the class declaration. The `name` goes on the prototype, not on each
 * instance, so it is set before the `Error` constructor captures the stack (whose first line reads
 * `QuicStreamError: …`), and it is not an own enumerable property that would clutter `toEqual`.
 *
 * @param ctor The class to register.
 * @param name The class name; the brand is `Symbol.for('rxjs-quiche.' + name)`.
 */
export function registerErrorClass(ctor: abstract new (...args: never[]) => Error, name: string): void {
  const brand = Symbol.for(`rxjs-quiche.${name}`);
  brands.set(ctor, brand);
  Object.defineProperty(ctor.prototype, brand, { value: true });
  Object.defineProperty(ctor.prototype, 'name', { value: name, writable: true, configurable: true });
}

/**
 * Answers `value instanceof ctor` for the error classes.
 *
 * @param ctor The right-hand side of `instanceof` (a registered class, or a user's subclass).
 * @param value The left-hand side.
 * @returns For a registered class, whether `value` carries its brand; otherwise the ordinary
 * prototype-chain answer.
 */
export function isInstanceOf(ctor: object, value: unknown): boolean {
  const brand = brands.get(ctor);
  if (brand === undefined) {
    return Function.prototype[Symbol.hasInstance].call(ctor, value);
  }
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
