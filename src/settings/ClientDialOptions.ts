import { ConnectionParams } from './ConnectionParams';
import type { QuicSettings } from './QuicSettings';
import type { TlsCertificatePaths } from './TlsCertificatePaths';
import type { TlsCredentials } from './TlsCredentials';
import type { TrustSettings } from './TrustSettings';

/**
 * The TLS and QUIC options a protocol's dialer (`connect$`, `connectHq$`) takes besides the socket
 * and address.
 */
export interface ClientDialOptions {
  /**
   * QUIC settings over the protocol's client defaults (its ALPN, idle timeout 30 s).
   *
   * Defaults to `{}`.
   */
  readonly settings?: Partial<QuicSettings>;
  /**
   * The CAs to verify the server against.
   *
   * Defaults to `undefined`: Node's root certificates.
   */
  readonly trust?: TrustSettings;
  /**
   * Skips verifying the server's certificate. Only for tests and local development: anyone on
   * the path can then impersonate the server.
   *
   * Defaults to `false`.
   */
  readonly insecureSkipVerify?: boolean;
  /** A client certificate, for mutual TLS. Defaults to `undefined`. */
  readonly tlsCert?: TlsCertificatePaths | TlsCredentials;
  /** The SNI and the name verified, when not `host`. Defaults to `host`. */
  readonly serverName?: string;
  /**
   * A session ticket from an earlier connection, to resume it (and send 0-RTT requests).
   *
   * Defaults to `undefined`.
   */
  readonly session?: Uint8Array;
}

/**
 * The client {@link ConnectionParams} for a dialer: `defaults` (the protocol's ALPN and idle
 * timeout) under the caller's settings; `insecureSkipVerify` turns verification off and drops
 * `trust`.
 *
 * @param defaults The protocol's client settings.
 * @param options What the caller gave.
 * @returns The parameters.
 * @throws {QuicSettingsError} for invalid settings.
 */
export function clientDialParams(defaults: Partial<QuicSettings>, options: ClientDialOptions): ConnectionParams {
  const { settings, trust, insecureSkipVerify, tlsCert, serverName, session } = options;
  return ConnectionParams.newClient(
    { ...defaults, ...settings, ...(insecureSkipVerify ? { verifyPeer: false } : {}) },
    tlsCert,
    {},
    {
      ...(trust !== undefined && !insecureSkipVerify ? { trust } : {}),
      ...(serverName !== undefined ? { serverName } : {}),
      ...(session !== undefined ? { session } : {}),
    },
  );
}
