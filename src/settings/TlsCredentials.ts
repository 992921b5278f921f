/**
 * Our certificate chain and private key as PEM held in memory, for certificates that do not live
 * in files (a secret store, a generated test certificate). Not in tokio-quiche, which takes paths only.
 *
 * A `Buffer` is read as UTF-8 text. PEM that does not parse, or a key that does not match the
 * certificate, fails with `InvalidPem` when the native configuration is built.
 *
 * ## Example
 * ```ts
 * ConnectionParams.newServer({}, { certChain: await readSecret('cert'), privateKey: await readSecret('key') });
 * ```
 * @see {@link TlsCertificatePaths} for PEM files.
 */
export interface TlsCredentials {
  /**
   * The certificate chain as PEM, leaf first.
   */
  certChain: string | Buffer;

  /**
   * The private key of the leaf certificate as PEM.
   */
  privateKey: string | Buffer;
}
