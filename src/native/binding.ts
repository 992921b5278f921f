/**
 * The native addon, and nothing else: this folder is the only place TypeScript imports it.
 *
 * Everything else reads native types through the `napi` namespace (`napi.Connection`,
 * `napi.Config`), so a native type is never mistaken for a public one.
 */
import * as napi from '../../native/index.js';

export { napi };

/**
 * The quiche connection an {@link ApplicationOverQuic} drives: tokio-quiche's `QuicheConnection`.
 * It is the native `Connection` class; see its methods in `native/index.d.ts`.
 */
export type QuicheConnection = napi.Connection;
