import { X509Certificate } from 'node:crypto';

import { napi } from '../../src/native/binding';
import { NativePair, SERVER_NAME, TEST_ALPN, thrown } from '../helpers/nativePair';

describe('native handshake', () => {
  it('should establish both ends with the negotiated ALPN, the SNI and the verified chain', () => {
    const pair = NativePair.connect({
      client: { alpn: ['not-spoken', TEST_ALPN] },
      server: { alpn: [TEST_ALPN, 'other'] },
    });
    expect(pair.client.isEstablished()).toBe(false);
    expect(pair.client.applicationProto()).toBe('');

    pair.handshake();

    expect(pair.client.isEstablished()).toBe(true);
    expect(pair.server.isEstablished()).toBe(true);
    expect(pair.client.isServer()).toBe(false);
    expect(pair.server.isServer()).toBe(true);
    expect(pair.client.applicationProto()).toBe(TEST_ALPN);
    expect(pair.server.applicationProto()).toBe(TEST_ALPN);
    expect(pair.server.serverName()).toBe(SERVER_NAME);
    expect(pair.client.isResumed()).toBe(false);
    expect(pair.client.localError()).toBeNull();
    expect(pair.server.localError()).toBeNull();

    // The chain the client saw is the server's, leaf first, then the CA that signed it.
    const chain = pair.client.peerCertChain();
    expect(chain).not.toBeNull();
    const [leaf, ca] = (chain ?? []).map((der) => new X509Certificate(der));
    expect(chain).toHaveLength(2);
    expect(leaf?.raw.equals(new X509Certificate(pair.certs.leaf.cert).raw)).toBe(true);
    expect(ca?.raw.equals(new X509Certificate(pair.certs.ca.cert).raw)).toBe(true);
    expect(leaf?.checkIssued(ca as X509Certificate)).toBe(true);
    expect(leaf?.subjectAltName).toContain('DNS:localhost');
    // The client sent no certificate.
    expect(pair.server.peerCertChain()).toBeNull();

    // Each end's destination CID is the other's source CID.
    expect(pair.client.destinationId().equals(pair.server.sourceId())).toBe(true);
    expect(pair.server.destinationId().equals(pair.client.sourceId())).toBe(true);
  });

  it('should send no SNI when the client gives no server name', () => {
    const pair = NativePair.connect({ serverName: null, client: { verifyPeer: false } });
    pair.handshake();

    expect(pair.server.serverName()).toBeNull();
  });

  it('should fail the handshake when the ALPN lists share no protocol', () => {
    const pair = NativePair.connect({ client: { alpn: ['a'] }, server: { alpn: ['b'] } });

    // The server's recv() of the ClientHello fails.
    expect(thrown(() => pair.handshake()).code).toBe('TlsFail');
    // no_application_protocol is TLS alert 120: CRYPTO_ERROR 0x100 + 120.
    expect(pair.server.localError()).toEqual({ isApp: false, errorCode: 0x100 + 120, reason: '' });

    // The server's CONNECTION_CLOSE reaches the client.
    pair.advance();
    expect(pair.client.isEstablished()).toBe(false);
    expect(pair.client.peerError()).toEqual({ isApp: false, errorCode: 0x100 + 120, reason: '' });
  });

  it("should offer BoringSSL's post-quantum key share by default, and only the groups it is given", () => {
    // Default: X25519MLKEM768's 1216-byte key share makes a ClientHello of two Initial datagrams.
    const hybrid = NativePair.connect();
    expect(NativePair.capture(hybrid.client)!.datagrams).toHaveLength(2);
    const classic = NativePair.connect({ client: { keyExchangeGroups: ['X25519'] } });
    expect(NativePair.capture(classic.client)!.datagrams).toHaveLength(1);
    // Both still complete against a server with the default list.
    for (const groups of [undefined, ['X25519'], ['P-256', 'X25519']]) {
      const pair = NativePair.connect(groups ? { client: { keyExchangeGroups: groups } } : {});
      pair.handshake();
      expect(pair.client.isEstablished() && pair.server.isEstablished()).toBe(true);
    }
  });

  it('should fail the handshake when the two ends share no key-exchange group', () => {
    const pair = NativePair.connect({ client: { keyExchangeGroups: ['P-384'] }, server: { keyExchangeGroups: ['X25519'] } });

    expect(thrown(() => pair.handshake()).code).toBe('TlsFail');
    // handshake_failure is TLS alert 40: CRYPTO_ERROR 0x100 + 40.
    expect(pair.server.localError()).toEqual({ isApp: false, errorCode: 0x100 + 40, reason: '' });
  });

  it('should refuse unknown or malformed group lists with InvalidSetting', () => {
    for (const groups of [['X25519', 'no-such-group'], [], ['X25519:P-256'], ['']]) {
      const e = thrown(() => new napi.Config({ keyExchangeGroups: groups }));
      expect(e.code).toBe('InvalidSetting');
      expect(e.message).toMatch(/key_exchange_groups/);
    }
  });
});
