import { napi } from '../../src/native/binding';
import { NativePair, testCertificates, thrown } from '../helpers/nativePair';

/** CRYPTO_ERROR for a TLS alert (RFC 9001 §4.8): 0x100 + the alert. */
const cryptoError = (alert: number) => ({ isApp: false, errorCode: 0x100 + alert, reason: '' });

/** Runs a handshake the client must refuse; returns the error its recv() threw. */
function refusedHandshake(pair: NativePair): Error & { code?: string } {
  const error = thrown(() => pair.handshake());
  expect(pair.client.isEstablished()).toBe(false);
  return error;
}

describe('native certificate verification', () => {
  it('should refuse a server whose chain leads to a CA the client does not trust: unknown_ca', () => {
    const trusted = napi.generateCertificate({ isCa: true, commonName: 'some other CA', subjectAltNames: [] });
    const pair = NativePair.connect({ client: { ca: [trusted.cert] } });

    expect(refusedHandshake(pair).code).toBe('TlsFail');
    expect(pair.client.localError()).toEqual(cryptoError(48));
    // The alert reaches the server as the client's CONNECTION_CLOSE.
    pair.advance();
    expect(pair.server.peerError()).toEqual(cryptoError(48));
    expect(pair.server.isEstablished()).toBe(false);
  });

  it('should refuse an expired server certificate: certificate_expired', () => {
    const expired = testCertificates({ leaf: { days: -2 } });
    const pair = NativePair.connect({ certs: expired });

    expect(refusedHandshake(pair).code).toBe('TlsFail');
    expect(pair.client.localError()).toEqual(cryptoError(45));
  });

  it('should refuse a certificate for another name: bad_certificate', () => {
    const pair = NativePair.connect({ serverName: 'example.com' });

    expect(refusedHandshake(pair).code).toBe('TlsFail');
    expect(pair.client.localError()).toEqual(cryptoError(42));
  });

  it('should refuse a self-signed server certificate the client was not given', () => {
    const self = napi.generateCertificate();
    const pair = NativePair.connect({ server: { certChain: self.cert, privateKey: self.key } });

    expect(refusedHandshake(pair).code).toBe('TlsFail');
    expect(pair.client.localError()).toEqual(cryptoError(48));
  });

  it('should accept the same expired certificate when the client does not verify', () => {
    const expired = testCertificates({ leaf: { days: -2 } });
    const pair = NativePair.connect({ certs: expired, client: { verifyPeer: false } });

    pair.handshake();
    expect(pair.client.isEstablished()).toBe(true);
  });
});
