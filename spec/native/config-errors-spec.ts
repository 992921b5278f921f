import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { napi } from '../../src/native/binding';
import { NativePair, clientConfigOptions, serverConfigOptions, testCertificates, thrown } from '../helpers/nativePair';

describe('native Config errors', () => {
  const certs = testCertificates();
  const codeOf = (options: napi.ConfigOptions) => thrown(() => new napi.Config(options)).code;

  it('should refuse unparsable PEM with InvalidPem', () => {
    expect(codeOf({ certChain: 'not a certificate', privateKey: certs.leaf.key })).toBe('InvalidPem');
    expect(codeOf({ certChain: certs.leaf.cert, privateKey: 'not a key' })).toBe('InvalidPem');
    // A certificate block whose base64 body is garbage.
    const garbled = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(codeOf({ certChain: garbled, privateKey: certs.leaf.key })).toBe('InvalidPem');
    expect(codeOf({ ca: [garbled] })).toBe('InvalidPem');
    // Text with no PEM block at all must not silently trust nothing.
    expect(codeOf({ verifyPeer: true, ca: ['not a CA'] })).toBe('InvalidPem');
  });

  it('should refuse a private key that does not match the certificate with InvalidPem', () => {
    const error = thrown(() => new napi.Config({ certChain: certs.leaf.cert, privateKey: certs.ca.key }));
    expect(error.code).toBe('InvalidPem');
    expect(error.message).toMatch(/KEY_VALUES_MISMATCH|does not match/);
  });

  it('should refuse a certificate without a key with InvalidArgument', () => {
    expect(codeOf({ certChain: certs.leaf.cert })).toBe('InvalidArgument');
    expect(codeOf({ privateKey: certs.leaf.key })).toBe('InvalidArgument');
  });

  describe('with files', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'rxjs-quiche-certs-'));
      writeFileSync(join(dir, 'chain.pem'), certs.chain);
      writeFileSync(join(dir, 'key.pem'), certs.leaf.key);
      writeFileSync(join(dir, 'ca.pem'), certs.ca.cert);
      writeFileSync(join(dir, 'junk.pem'), 'junk');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('should refuse a missing certificate, key or CA file with CertificateFile', () => {
      const missing = join(dir, 'missing.pem');
      const error = thrown(() => new napi.Config({ certChainFile: missing, privateKeyFile: join(dir, 'key.pem') }));
      expect(error.code).toBe('CertificateFile');
      expect(error.message).toContain(missing);
      expect(codeOf({ certChainFile: join(dir, 'chain.pem'), privateKeyFile: missing })).toBe('CertificateFile');
      expect(codeOf({ caFile: missing })).toBe('CertificateFile');
    });

    it('should refuse a file that holds no PEM with InvalidPem', () => {
      expect(codeOf({ certChainFile: join(dir, 'junk.pem'), privateKeyFile: join(dir, 'key.pem') })).toBe('InvalidPem');
      expect(codeOf({ certChainFile: join(dir, 'chain.pem'), privateKeyFile: join(dir, 'junk.pem') })).toBe('InvalidPem');
      expect(codeOf({ caFile: join(dir, 'junk.pem') })).toBe('InvalidPem');
    });

    it('should handshake with the chain, key and CA read from files', () => {
      const pair = NativePair.connect({
        clientConfig: new napi.Config({ ...clientConfigOptions(certs), ca: undefined, caFile: join(dir, 'ca.pem') }),
        serverConfig: new napi.Config({
          ...serverConfigOptions(certs),
          certChain: undefined,
          privateKey: undefined,
          certChainFile: join(dir, 'chain.pem'),
          privateKeyFile: join(dir, 'key.pem'),
        }),
      });
      pair.handshake();
      expect(pair.client.peerCertChain()).toHaveLength(2);
    });
  });

  it('should refuse settings out of range with InvalidSetting', () => {
    const invalid: napi.ConfigOptions[] = [
      { ccAlgorithm: 'vegas' },
      { maxSendUdpPayloadSize: 100 },
      { maxRecvUdpPayloadSize: 1199 },
      { initialMaxData: -1 },
      { initialMaxStreamsBidi: 1.5 },
      { maxIdleTimeoutMs: Number.NaN },
      { ackDelayExponent: 21 },
      { maxAckDelay: 2 ** 14 },
      { initialRttMs: 0 },
      { sendCapacityFactor: -1 },
      { pmtudMaxProbes: 256 },
      { statelessResetToken: [1, 2, 3] },
      { alpn: [''] },
      { alpn: ['x'.repeat(256)] },
    ];
    for (const options of invalid) {
      expect([options, codeOf(options)]).toEqual([options, 'InvalidSetting']);
    }
    // Every congestion controller quiche has is accepted.
    for (const ccAlgorithm of ['reno', 'cubic', 'bbr2', 'bbr2_gcongestion']) {
      expect(() => new napi.Config({ ccAlgorithm })).not.toThrow();
    }
  });

  it('should refuse a QUIC version quiche does not speak with UnknownVersion', () => {
    expect(codeOf({ version: 0xff00001d })).toBe('UnknownVersion');
  });

  it('should refuse H3 settings that are not non-negative integers with InvalidSetting', () => {
    expect(thrown(() => new napi.H3Config({ maxFieldSectionSize: -1 })).code).toBe('InvalidSetting');
    expect(thrown(() => new napi.H3Config({ qpackBlockedStreams: 0.5 })).code).toBe('InvalidSetting');
  });
});
