import type { napi } from '../native/binding';
import type { TlsCertificatePaths } from './TlsCertificatePaths';
import type { TlsCredentials } from './TlsCredentials';

/**
 * What a {@link ConnectionHook} is told about the configuration being built.
 */
export interface ConnectionHookContext {
  /** Whether the configuration is for a listener (`'server'`) or a client connection. */
  role: 'server' | 'client';
  /** The certificate of `ConnectionParams.tlsCert`, if any. */
  tlsCert: TlsCertificatePaths | TlsCredentials | undefined;
}

/**
 * Customises the native configuration of a listener or client connection: tokio-quiche's
 * `ConnectionHook`.
 *
 * tokio-quiche's hook builds a custom BoringSSL `SslContextBuilder` (for asynchronous certificate
 * selection and the like). A BoringSSL object cannot cross into JavaScript, so this hook works one
 * level up: it receives the native `ConfigOptions` that `ConnectionParams` resolved to (settings,
 * certificate, trust) and may return a changed copy, e.g. with other CAs or another certificate.
 * Two more differences: it runs for clients too, with or without a certificate (tokio-quiche calls
 * it only when a certificate is set), and what it returns is checked by the native constructor,
 * not by `resolveQuicSettings`.
 *
 * Like tokio-quiche's, it runs once per configuration: once per listening socket, or once per
 * client connection, never per accepted connection.
 *
 * ## Example
 * ```ts
 * const pinned: ConnectionHook = {
 *   customizeConfigOptions: (options) => ({ ...options, ca: [internalCaPem] }),
 * };
 * ConnectionParams.newClient({}, undefined, { connectionHook: pinned });
 * ```
 */
export interface ConnectionHook {
  /**
   * Returns the options to build the native configuration from.
   *
   * @param options The resolved options, frozen: return a changed copy (`{ ...options, … }`)
   * rather than changing them.
   * @param context The role and the certificate the options were built for.
   * @returns The options to use, or `undefined` to use `options` unchanged (like tokio-quiche's
   * `None`). An error it throws reaches the caller of `createNativeConfig` as it is.
   */
  customizeConfigOptions(
    options: Readonly<napi.ConfigOptions>,
    context: ConnectionHookContext,
  ): napi.ConfigOptions | undefined;
}
