import { QuicSettingsError } from '../../src/errors/QuicSettingsError';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import type { ConnectionHook } from '../../src/settings/ConnectionHook';
import { DEFAULT_QUIC_SETTINGS } from '../../src/settings/QuicSettings';
import type { TlsCertificatePaths } from '../../src/settings/TlsCertificatePaths';

/**
 * Runs `fn`, which must throw a QuicSettingsError, and returns it.
 */
function settingsErrorOf(fn: () => unknown): QuicSettingsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof QuicSettingsError) return e;
    throw e;
  }
  throw new Error('expected a QuicSettingsError');
}

const PATHS: TlsCertificatePaths = { cert: '/etc/quic/cert.pem', privateKey: '/etc/quic/key.pem' };
const NO_HOOK: ConnectionHook = { customizeConfigOptions: () => undefined };

/** @test {ConnectionParams.newServer} */
describe('ConnectionParams.newServer', () => {
  it('should resolve the settings and keep the certificate', () => {
    const params = ConnectionParams.newServer({ maxIdleTimeout: 5_000 }, PATHS);

    expect(params.settings).toEqual({ ...DEFAULT_QUIC_SETTINGS, maxIdleTimeout: 5_000 });
    expect(params.tlsCert).toEqual({ ...PATHS, kind: 'x509' });
    expect(params.hooks).toEqual({});
    expect(Object.isFrozen(params)).toBe(true);
  });

  it('should take PEM in memory, and hooks', () => {
    const params = ConnectionParams.newServer({}, { certChain: Buffer.from('pem'), privateKey: 'pem' }, { connectionHook: NO_HOOK });

    expect(params.tlsCert).toEqual({ certChain: Buffer.from('pem'), privateKey: 'pem' });
    expect(params.hooks.connectionHook).toBe(NO_HOOK);
  });

  it('should refuse invalid settings at the call', () => {
    expect(settingsErrorOf(() => ConnectionParams.newServer({ activeConnectionIdLimit: 1 }, PATHS)).setting).toBe(
      'activeConnectionIdLimit',
    );
  });

  it.each<[string, unknown]>([
    ['tlsCert', undefined],
    ['tlsCert', { path: 'cert.pem' }],
    ['tlsCert.cert', { cert: '', privateKey: 'key.pem' }],
    ['tlsCert.privateKey', { cert: 'cert.pem' }],
    ['tlsCert.kind', { cert: 'cert.pem', privateKey: 'key.pem', kind: 'rawPublicKey' }],
    ['tlsCert.ca', { cert: 'cert.pem', privateKey: 'key.pem', ca: 'x' }],
    ['tlsCert.certChain', { certChain: '', privateKey: 'pem' }],
    ['tlsCert.privateKey', { certChain: 'pem', privateKey: 42 }],
  ])('should refuse a bad certificate, naming %s', (setting, tlsCert) => {
    const error = settingsErrorOf(() => ConnectionParams.newServer({}, tlsCert as TlsCertificatePaths));

    expect(error.setting).toBe(setting);
  });

  it('should refuse a hook without customizeConfigOptions', () => {
    const hooks = { connectionHook: {} as ConnectionHook };

    expect(settingsErrorOf(() => ConnectionParams.newServer({}, PATHS, hooks)).setting).toBe('hooks.connectionHook');
  });
});

/** @test {ConnectionParams.newClient} */
describe('ConnectionParams.newClient', () => {
  it('should need nothing', () => {
    const params = ConnectionParams.newClient();

    expect(params.settings).toEqual(DEFAULT_QUIC_SETTINGS);
    expect(params.tlsCert).toBeUndefined();
    expect(params.trust).toBeUndefined();
    expect(params.hooks).toEqual({});
  });

  it('should take trust, a session and a server name, copying the session', () => {
    const session = new Uint8Array([1, 2, 3]);
    const params = ConnectionParams.newClient({}, undefined, undefined, {
      trust: { ca: ['-----BEGIN CERTIFICATE-----'], caFile: '/etc/ssl/ca.pem' },
      session,
      serverName: 'example.org',
    });
    session[0] = 9;

    expect(params.trust).toEqual({ ca: ['-----BEGIN CERTIFICATE-----'], caFile: '/etc/ssl/ca.pem' });
    expect(params.session).toEqual(new Uint8Array([1, 2, 3]));
    expect(params.serverName).toBe('example.org');
  });

  it('should take a client certificate for mutual TLS', () => {
    expect(ConnectionParams.newClient({}, PATHS).tlsCert).toEqual({ ...PATHS, kind: 'x509' });
  });

  it.each<[string, Record<string, unknown>]>([
    ['trust.ca', { trust: { ca: [] } }],
    ['trust.ca', { trust: { ca: [42] } }],
    ['trust.caFile', { trust: { caFile: '' } }],
    ['trust.roots', { trust: { roots: true } }],
    ['session', { session: 'ticket' }],
    ['session', { session: new Uint8Array(0) }],
    ['serverName', { serverName: '' }],
  ])('should refuse a bad option, naming %s', (setting, options) => {
    const error = settingsErrorOf(() => ConnectionParams.newClient({}, undefined, {}, options));

    expect(error.setting).toBe(setting);
  });
});
