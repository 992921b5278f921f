/**
 * The certificate authorities a connection trusts when it verifies its peer
 * (`QuicSettings.verifyPeer`): a client verifying the server, or a server verifying client
 * certificates (mutual TLS). Not in tokio-quiche, which leaves it to a `ConnectionHook`.
 *
 * Giving `ca` or `caFile` replaces the default trust; it does not add to it. To trust a private CA
 * as well as the public ones, pass `ca: [...tls.rootCertificates, myCa]`.
 *
 * ## Example
 * ```ts
 * ConnectionParams.newClient({}, undefined, undefined, { trust: { caFile: '/etc/quic/ca.pem' } });
 * ```
 */
export interface TrustSettings {
  /**
   * Trusted CA certificates as PEM: one string, which may hold several certificates, or an array
   * of them.
   *
   * Defaults to `undefined`: when `caFile` is not given either, Node's bundled Mozilla roots
   * (`tls.rootCertificates`) are trusted.
   */
  ca?: string | string[];

  /**
   * Path of a PEM file of trusted CA certificates, read when the native configuration is built;
   * a file that cannot be read fails there with `CertificateFile`.
   *
   * Defaults to `undefined`.
   */
  caFile?: string;
}
