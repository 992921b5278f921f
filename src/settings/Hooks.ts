import type { ConnectionHook } from './ConnectionHook';

/**
 * The hooks of a listener or client connection: tokio-quiche's `Hooks`.
 *
 * ## Example
 * ```ts
 * const hooks: Hooks = { connectionHook: { customizeConfigOptions: (o) => ({ ...o, grease: false }) } };
 * ```
 */
export interface Hooks {
  /**
   * Customises the native configuration before it is built; see {@link ConnectionHook}.
   *
   * Defaults to `undefined` (no hook).
   */
  connectionHook?: ConnectionHook;
}
