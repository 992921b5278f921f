import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

import { QuicError } from '../../src/errors/QuicError';
import { QuicSettingsError } from '../../src/errors/QuicSettingsError';
import { napi } from '../../src/native/binding';
import { fromNativeError } from '../../src/native/errors';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import type { ConnectionHook, ConnectionHookContext } from '../../src/settings/ConnectionHook';
import type { QuicSettings } from '../../src/settings/QuicSettings';
import { createNativeConfig, toNativeConfigOptions } from '../../src/settings/toNativeConfig';
import type { TrustSettings } from '../../src/settings/TrustSettings';
import { NativePair, testCertificates } from '../helpers/nativePair';

/**
 * Runs `fn`, which must throw a QuicError, and returns it.
 */
function quicErrorOf(fn: () => unknown): QuicError {
  try {
    fn();
  } catch (e) {
    if (e instanceof QuicError) return e;
    throw e;
  }
  throw new Error('expected a QuicError');
}

// The test CA and a server certificate it signed (for `localhost`), in memory and in files.
const certs = testCertificates();
let dir: string;
let certFile: string;
let keyFile: string;
let caFile: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-quiche-settings-'));
  certFile = path.join(dir, 'cert.pem');
  keyFile = path.join(dir, 'key.pem');
  caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(certFile, certs.chain);
  fs.writeFileSync(keyFile, certs.leaf.key);
  fs.writeFileSync(caFile, certs.ca.cert);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** @test {toNativeConfigOptions} */
describe('toNativeConfigOptions', () => {
  it('should pass every native QUIC setting with its default', () => {
    const options = toNativeConfigOptions(
      ConnectionParams.newServer({}, { certChain: certs.chain, privateKey: certs.leaf.key }),
      'server',
    );

    expect(options).toEqual({
      alpn: ['h3'],
      enableDgram: true,
      dgramRecvMaxQueueLen: 65_536,
      dgramSendMaxQueueLen: 65_536,
      enableEarlyData: false,
      initialMaxData: 10_000_000,
      initialMaxStreamDataBidiLocal: 1_000_000,
      initialMaxStreamDataBidiRemote: 1_000_000,
      initialMaxStreamDataUni: 1_000_000,
      initialMaxStreamsBidi: 100,
      initialMaxStreamsUni: 100,
      maxIdleTimeoutMs: 56_000,
      disableActiveMigration: true,
      activeConnectionIdLimit: 2,
      maxRecvUdpPayloadSize: 1350,
      maxSendUdpPayloadSize: 1350,
      ccAlgorithm: 'cubic',
      initialCongestionWindowPackets: 10,
      enableRelaxedLossThreshold: false,
      discoverPathMtu: false,
      pmtudMaxProbes: 3,
      enableHystart: true,
      enablePacing: false,
      maxConnectionWindow: 24 * 1024 * 1024,
      maxStreamWindow: 16 * 1024 * 1024,
      enableSendStreamsBlocked: false,
      grease: true,
      maxAmplificationFactor: 3,
      sendCapacityFactor: 1,
      ackDelayExponent: 3,
      maxAckDelay: 25,
      maxPathChallengeRecvQueueLen: 3,
      disableDcidReuse: false,
      verifyPeer: false,
      certChain: certs.chain,
      privateKey: certs.leaf.key,
    });
  });

  it('should pass the optional settings when set, in native units and shapes', () => {
    const settings: Partial<QuicSettings> = {
      maxPacingRate: 1_000_000,
      statelessResetToken: new Uint8Array(16).fill(2),
      trackUnknownTransportParameters: 256,
      initialRtt: 50,
      ticketKey: new Uint8Array(48).fill(3),
      keylogFile: path.join(os.tmpdir(), 'keys.log'),
    };
    const options = toNativeConfigOptions(ConnectionParams.newServer(settings, { cert: certFile, privateKey: keyFile }), 'server');

    expect(options).toMatchObject({
      maxPacingRate: 1_000_000,
      statelessResetToken: new Array(16).fill(2),
      trackUnknownTransportParameters: 256,
      initialRttMs: 50,
      ticketKey: new Array(48).fill(3),
      logKeys: true,
      certChainFile: certFile,
      privateKeyFile: keyFile,
    });
    expect(options.certChain).toBeUndefined();
  });

  it("should make a client verify the server against Node's roots by default", () => {
    const options = toNativeConfigOptions(ConnectionParams.newClient(), 'client');

    expect(options.verifyPeer).toBe(true);
    expect(options.ca).toEqual([...tls.rootCertificates]);
  });

  it('should trust only the CAs given', () => {
    const options = toNativeConfigOptions(
      ConnectionParams.newClient({}, undefined, undefined, { trust: { ca: certs.ca.cert, caFile } }),
      'client',
    );

    expect(options.ca).toEqual([certs.ca.cert]);
    expect(options.caFile).toBe(caFile);
  });

  it('should pass no CA to a client that does not verify', () => {
    const options = toNativeConfigOptions(ConnectionParams.newClient({ verifyPeer: false }), 'client');

    expect(options.verifyPeer).toBe(false);
    expect(options.ca).toBeUndefined();
  });

  it("should give a server that verifies client certificates Node's roots by default", () => {
    const params = ConnectionParams.newServer({ verifyPeer: true }, { cert: certFile, privateKey: keyFile });

    expect(toNativeConfigOptions(params, 'server').ca).toHaveLength(tls.rootCertificates.length);
  });

  it('should check parameters written by hand', () => {
    const params = { settings: { maxIdleTimeout: -1 } as QuicSettings, hooks: {} };
    const error = quicErrorOf(() => toNativeConfigOptions(params, 'client'));

    expect(error).toBeInstanceOf(QuicSettingsError);
    expect((error as QuicSettingsError).setting).toBe('maxIdleTimeout');
  });

  it('should refuse a server without a certificate', () => {
    const params: ConnectionParams = { settings: ConnectionParams.newClient().settings, hooks: {} };
    const error = quicErrorOf(() => toNativeConfigOptions(params, 'server'));

    expect((error as QuicSettingsError).setting).toBe('tlsCert');
  });

  it('should refuse a client with a stateless reset token', () => {
    const params = ConnectionParams.newClient({ statelessResetToken: new Uint8Array(16) });
    const error = quicErrorOf(() => toNativeConfigOptions(params, 'client'));

    expect((error as QuicSettingsError).setting).toBe('statelessResetToken');
  });

  it('should refuse a CA entry that holds no certificate', () => {
    const params = ConnectionParams.newClient({}, undefined, undefined, { trust: { ca: [certs.ca.cert, 'garbage'] } });
    const error = quicErrorOf(() => toNativeConfigOptions(params, 'client'));

    expect(error.code).toBe('InvalidPem');
    expect(error.message).toContain('trust.ca[1]');
  });

  describe('with a connection hook', () => {
    it('should hand it the frozen options and the context, and use what it returns', () => {
      const seen: { options?: Readonly<napi.ConfigOptions>; context?: ConnectionHookContext } = {};
      const hook: ConnectionHook = {
        customizeConfigOptions(options, context) {
          seen.options = options;
          seen.context = context;
          return { ...options, grease: false };
        },
      };
      const tlsCert = { cert: certFile, privateKey: keyFile };
      const options = toNativeConfigOptions(ConnectionParams.newServer({}, tlsCert, { connectionHook: hook }), 'server');

      expect(options.grease).toBe(false);
      expect(Object.isFrozen(seen.options)).toBe(true);
      expect(Object.isFrozen(seen.options?.alpn)).toBe(true);
      expect(seen.options?.grease).toBe(true);
      expect(seen.context).toEqual({ role: 'server', tlsCert: { ...tlsCert, kind: 'x509' } });
    });

    it('should keep the options when it returns undefined', () => {
      const hook: ConnectionHook = { customizeConfigOptions: () => undefined };
      const options = toNativeConfigOptions(ConnectionParams.newClient({}, undefined, { connectionHook: hook }), 'client');

      expect(options.verifyPeer).toBe(true);
      expect(Object.isFrozen(options)).toBe(false);
    });

    it('should refuse a result that is not options', () => {
      const hook = { customizeConfigOptions: () => 42 } as unknown as ConnectionHook;
      const error = quicErrorOf(() =>
        toNativeConfigOptions(ConnectionParams.newClient({}, undefined, { connectionHook: hook }), 'client'),
      );

      expect((error as QuicSettingsError).setting).toBe('hooks.connectionHook');
    });

    it('should let what it throws through as it is', () => {
      const boom = new Error('boom');
      const hook: ConnectionHook = {
        customizeConfigOptions: () => {
          throw boom;
        },
      };

      expect(() => toNativeConfigOptions(ConnectionParams.newClient({}, undefined, { connectionHook: hook }), 'client')).toThrow(
        boom,
      );
    });
  });
});

/** @test {createNativeConfig} */
describe('createNativeConfig', () => {
  it('should build a server config from certificate files and from memory', () => {
    const fromFiles = createNativeConfig(ConnectionParams.newServer({}, { cert: certFile, privateKey: keyFile }), 'server');
    const fromMemory = createNativeConfig(
      ConnectionParams.newServer({}, { certChain: Buffer.from(certs.chain), privateKey: certs.leaf.key }),
      'server',
    );

    expect(fromFiles).toBeInstanceOf(napi.Config);
    expect(fromMemory).toBeInstanceOf(napi.Config);
  });

  it("should build a client config with Node's roots", () => {
    expect(createNativeConfig(ConnectionParams.newClient(), 'client')).toBeInstanceOf(napi.Config);
  });

  it('should throw CertificateFile for a missing certificate file', () => {
    const params = ConnectionParams.newServer({}, { cert: path.join(dir, 'missing.pem'), privateKey: keyFile });
    const error = quicErrorOf(() => createNativeConfig(params, 'server'));

    expect(error.constructor).toBe(QuicError);
    expect(error.code).toBe('CertificateFile');
    expect(error.cause).toBeDefined();
  });

  it('should throw CertificateFile for a missing CA file', () => {
    const params = ConnectionParams.newClient({}, undefined, undefined, { trust: { caFile: path.join(dir, 'missing-ca.pem') } });

    expect(quicErrorOf(() => createNativeConfig(params, 'client')).code).toBe('CertificateFile');
  });

  it('should throw InvalidPem for PEM that does not parse', () => {
    const params = ConnectionParams.newServer({}, { certChain: 'not pem', privateKey: certs.leaf.key });

    expect(quicErrorOf(() => createNativeConfig(params, 'server')).code).toBe('InvalidPem');
  });

  it('should throw InvalidPem for a key that does not match the certificate', () => {
    const params = ConnectionParams.newServer({}, { certChain: certs.chain, privateKey: certs.ca.key });

    expect(quicErrorOf(() => createNativeConfig(params, 'server')).code).toBe('InvalidPem');
  });

  it('should name the QuicSettings field of a value the native side refuses', () => {
    const hook: ConnectionHook = { customizeConfigOptions: (o) => ({ ...o, maxIdleTimeoutMs: 1.5 }) };
    const params = ConnectionParams.newClient({}, undefined, { connectionHook: hook });
    const error = quicErrorOf(() => createNativeConfig(params, 'client'));

    expect(error).toBeInstanceOf(QuicSettingsError);
    expect((error as QuicSettingsError).setting).toBe('maxIdleTimeout');
  });

  it('should pass keyExchangeGroups through and name the setting when BoringSSL knows none of a group', () => {
    const ok = ConnectionParams.newClient({ keyExchangeGroups: ['X25519', 'P-256'] });
    expect(toNativeConfigOptions(ok, 'client').keyExchangeGroups).toEqual(['X25519', 'P-256']);
    expect(toNativeConfigOptions(ConnectionParams.newClient(), 'client').keyExchangeGroups).toBeUndefined();

    const error = quicErrorOf(() => createNativeConfig(ConnectionParams.newClient({ keyExchangeGroups: ['X25519', 'X448'] }), 'client'));
    expect(error).toBeInstanceOf(QuicSettingsError);
    expect((error as QuicSettingsError).setting).toBe('keyExchangeGroups');
  });

  it('should throw InvalidArgument for an option of the wrong type from a hook', () => {
    const hook: ConnectionHook = { customizeConfigOptions: (o) => ({ ...o, alpn: 'h3' as unknown as string[] }) };
    const params = ConnectionParams.newClient({}, undefined, { connectionHook: hook });

    expect(quicErrorOf(() => createNativeConfig(params, 'client')).code).toBe('InvalidArgument');
  });

  describe('in a handshake', () => {
    // A server presenting the test leaf (signed by the test CA, not by a public root).
    const serverConfig = (): napi.Config =>
      createNativeConfig(ConnectionParams.newServer({}, { cert: certFile, privateKey: keyFile }), 'server');

    it("should make a default client refuse a certificate Node's roots do not vouch for", () => {
      const clientConfig = createNativeConfig(ConnectionParams.newClient(), 'client');
      const pair = NativePair.connect({ clientConfig, serverConfig: serverConfig() });

      // The client's recv() fails with quiche's TlsFail when the chain does not verify.
      const error = fromNativeError(thrownBy(() => pair.handshake()));

      expect(error.code).toBe('TlsFail');
      expect(pair.client.isEstablished()).toBe(false);
    });

    it.each<[string, () => TrustSettings]>([
      ['trust.ca', () => ({ ca: certs.ca.cert })],
      ['trust.caFile', () => ({ caFile })],
    ])('should complete it for a client that trusts the test CA through %s', (_, trust) => {
      const clientConfig = createNativeConfig(ConnectionParams.newClient({}, undefined, undefined, { trust: trust() }), 'client');
      const pair = NativePair.connect({ clientConfig, serverConfig: serverConfig() });

      pair.handshake();

      expect(pair.client.isEstablished()).toBe(true);
      expect(pair.client.applicationProto()).toBe('h3');
    });
  });
});

/**
 * Runs `fn`, which must throw, and returns what it threw.
 */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw');
}
