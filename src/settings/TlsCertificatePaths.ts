/**
 * Where our certificate chain and private key are: paths to PEM files, after tokio-quiche's
 * `TlsCertificatePaths`.
 *
 * The files are read when the native configuration is built (`createNativeConfig`): once per
 * listener, and for clients whenever a file's size or modification time changed (client
 * configurations are shared by content, see `ClientConfigCache`). A file that cannot be read
 * fails there with `CertificateFile`, and one that is not valid PEM (or a key that does not match
 * the certificate) with `InvalidPem`.
 *
 * ## Example
 * ```ts
 * ConnectionParams.newServer({}, { cert: '/etc/quic/cert.pem', privateKey: '/etc/quic/key.pem' });
 * ```
 * @see {@link TlsCredentials} for PEM held in memory.
 */
export interface TlsCertificatePaths {
  /**
   * Path of a PEM file with the certificate chain, leaf first.
   */
  cert: string;

  /**
   * Path of a PEM file with the private key of the leaf certificate.
   */
  privateKey: string;

  /**
   * The kind of certificate. Only X.509 is supported: tokio-quiche's `RawPublicKey`
   * ([RFC 7250](https://www.rfc-editor.org/rfc/rfc7250.html)) is not available through quiche's
   * configuration API.
   *
   * Defaults to `'x509'`.
   */
  kind?: 'x509';
}
