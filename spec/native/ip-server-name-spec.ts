import { NativePair, testCertificates } from '../helpers/nativePair';

// Dialling an IP address: no SNI (RFC 6066 §3), and the certificate is checked against its IP
// addresses, not its DNS names.
describe('a client dialling an IP address', () => {
  it('sends no SNI and accepts a certificate whose IP SAN matches', () => {
    const pair = NativePair.connect({ serverName: '127.0.0.1' });
    pair.handshake();
    expect(pair.client.isEstablished()).toBe(true);
    expect(pair.server.serverName()).toBeNull();
  });

  it('accepts a bracketed IPv6 literal against an IPv6 SAN', () => {
    const certs = testCertificates({ leaf: { subjectAltNames: ['::1'] } });
    const pair = NativePair.connect({ serverName: '[::1]', certs });
    pair.handshake();
    expect(pair.client.isEstablished()).toBe(true);
  });

  it('refuses a certificate that names the host but not the address (bad_certificate alert)', () => {
    const certs = testCertificates({ leaf: { subjectAltNames: ['localhost'] } });
    const pair = NativePair.connect({ serverName: '127.0.0.1', certs });
    expect(() => pair.handshake()).toThrow();
    expect(pair.client.localError()).toMatchObject({ isApp: false, errorCode: 0x100 + 42 });
  });
});
