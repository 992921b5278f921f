import { QuicSettingsError } from '../errors/QuicSettingsError';
import type { Hooks } from './Hooks';
import { resolveQuicSettings, type QuicSettings } from './QuicSettings';
import type { TlsCertificatePaths } from './TlsCertificatePaths';
import type { TlsCredentials } from './TlsCredentials';
import type { TrustSettings } from './TrustSettings';
import { checkNonEmptyString, checkObject, isBytes, rejectUnknownKeys, show } from './validators';

/**
 * Everything a listener or a client connection is configured with: tokio-quiche's
 * `ConnectionParams`. `createNativeConfig` turns it into the native configuration.
 *
 * Build one with {@link ConnectionParams.newServer} or {@link ConnectionParams.newClient}, which
 * fill in the defaults and check every value.
 *
 * ## Example
 * ```ts
 * const server = ConnectionParams.newServer({ maxIdleTimeout: 30_000 }, { cert: 'cert.pem', privateKey: 'key.pem' });
 * const client = ConnectionParams.newClient({}, undefined, undefined, { serverName: 'example.org' });
 * ```
 */
export interface ConnectionParams {
  /**
   * The QUIC settings.
   *
   * Defaults to {@link DEFAULT_QUIC_SETTINGS} in the factories.
   */
  settings: Readonly<QuicSettings>;

  /**
   * Our certificate and key: required on a server; on a client, a certificate for mutual TLS.
   *
   * Defaults to `undefined`.
   */
  tlsCert?: TlsCertificatePaths | TlsCredentials;

  /**
   * The CAs to verify the peer against, when `settings.verifyPeer` says to verify.
   *
   * Defaults to `undefined`: Node's `tls.rootCertificates`.
   */
  trust?: TrustSettings;

  /**
   * The hooks; see {@link Hooks}.
   *
   * Defaults to `{}` in the factories.
   */
  hooks: Hooks;

  /**
   * A session ticket from an earlier connection to the same server (the native connection's
   * `session()`), to resume it, with 0-RTT when `settings.enableEarlyData` is on. Client only.
   *
   * Defaults to `undefined`.
   */
  session?: Uint8Array;

  /**
   * The server name a client sends in SNI and verifies the server certificate against. Client only.
   *
   * Defaults to `undefined`: the connecting code falls back to the host it connects to.
   */
  serverName?: string;
}

/**
 * The factories of {@link ConnectionParams}: tokio-quiche's `ConnectionParams::new_server` and
 * `ConnectionParams::new_client`.
 */
export const ConnectionParams = Object.freeze({
  /**
   * Builds the parameters of a listener.
   *
   * ## Example
   * ```ts
   * const params = ConnectionParams.newServer({ enableEarlyData: true }, { cert: 'cert.pem', privateKey: 'key.pem' });
   * ```
   * @param settings The settings to change from the defaults (or complete settings).
   * @param tlsCert The server's certificate and key, as file paths or in memory.
   * @param hooks The hooks. Defaults to `{}`.
   * @param options `trust`: the CAs that sign client certificates, for mutual TLS with `verifyPeer`.
   * @returns Checked, frozen parameters.
   * @throws {QuicSettingsError} `InvalidSetting` for any invalid value, naming it in `setting`.
   */
  newServer(
    settings: Partial<QuicSettings>,
    tlsCert: TlsCertificatePaths | TlsCredentials,
    hooks: Hooks = {},
    options: Pick<ConnectionParams, 'trust'> = {},
  ): ConnectionParams {
    if (tlsCert === undefined) {
      throw new QuicSettingsError('tlsCert', 'tlsCert is required on a server');
    }
    return resolveConnectionParams({ settings: settings as QuicSettings, tlsCert, hooks, ...options });
  },

  /**
   * Builds the parameters of a client connection.
   *
   * ## Example
   * ```ts
   * const params = ConnectionParams.newClient({}, undefined, undefined, { serverName: 'example.org', session });
   * ```
   * @param settings The settings to change from the defaults (or complete settings). Defaults to `{}`.
   * @param tlsCert A client certificate for mutual TLS. Defaults to `undefined`.
   * @param hooks The hooks. Defaults to `{}`.
   * @param options `trust`, `session` and `serverName`; see {@link ConnectionParams}.
   * @returns Checked, frozen parameters.
   * @throws {QuicSettingsError} `InvalidSetting` for any invalid value, naming it in `setting`.
   */
  newClient(
    settings: Partial<QuicSettings> = {},
    tlsCert?: TlsCertificatePaths | TlsCredentials,
    hooks: Hooks = {},
    options: Pick<ConnectionParams, 'trust' | 'session' | 'serverName'> = {},
  ): ConnectionParams {
    return resolveConnectionParams({ settings: settings as QuicSettings, tlsCert, hooks, ...options });
  },
});

const PARAMS_KEYS: ReadonlySet<string> = new Set(['settings', 'tlsCert', 'trust', 'hooks', 'session', 'serverName']);
const PATHS_KEYS: ReadonlySet<string> = new Set(['cert', 'privateKey', 'kind']);
const CREDENTIALS_KEYS: ReadonlySet<string> = new Set(['certChain', 'privateKey']);
const TRUST_KEYS: ReadonlySet<string> = new Set(['ca', 'caFile']);
const HOOKS_KEYS: ReadonlySet<string> = new Set(['connectionHook']);

/**
 * Checks connection parameters and fills in their defaults; the factories and
 * `toNativeConfigOptions` (for parameters written by hand) go through it.
 *
 * Internal: not exported from the package.
 *
 * @param params The parameters, possibly with partial settings.
 * @returns Checked, frozen parameters with resolved settings and copied byte arrays.
 * @throws {QuicSettingsError} `InvalidSetting`, naming the field (`'tlsCert.cert'`, `'session'`, …).
 */
export function resolveConnectionParams(params: ConnectionParams): ConnectionParams {
  const input = checkObject('params', params);
  rejectUnknownKeys(input, PARAMS_KEYS);
  const resolved: ConnectionParams = {
    settings: resolveQuicSettings(input['settings'] as Partial<QuicSettings> | undefined),
    hooks: checkHooks(input['hooks'] ?? {}),
  };
  if (input['tlsCert'] !== undefined) resolved.tlsCert = checkTlsCert(input['tlsCert']);
  if (input['trust'] !== undefined) resolved.trust = checkTrust(input['trust']);
  if (input['session'] !== undefined) resolved.session = checkSession(input['session']);
  if (input['serverName'] !== undefined) resolved.serverName = checkNonEmptyString('serverName', input['serverName']);
  return Object.freeze(resolved);
}

/**
 * Checks a certificate given as paths or as PEM in memory; returns a frozen copy.
 */
function checkTlsCert(value: unknown): TlsCertificatePaths | TlsCredentials {
  const cert = checkObject('tlsCert', value);
  if ('cert' in cert) {
    rejectUnknownKeys(cert, PATHS_KEYS, 'tlsCert.');
    if (cert['kind'] !== undefined && cert['kind'] !== 'x509') {
      throw new QuicSettingsError('tlsCert.kind', `tlsCert.kind must be 'x509', got ${show(cert['kind'])}`);
    }
    return Object.freeze({
      cert: checkNonEmptyString('tlsCert.cert', cert['cert']),
      privateKey: checkNonEmptyString('tlsCert.privateKey', cert['privateKey']),
      kind: 'x509' as const,
    });
  }
  if ('certChain' in cert) {
    rejectUnknownKeys(cert, CREDENTIALS_KEYS, 'tlsCert.');
    return Object.freeze({
      certChain: checkPem('tlsCert.certChain', cert['certChain']),
      privateKey: checkPem('tlsCert.privateKey', cert['privateKey']),
    });
  }
  throw new QuicSettingsError(
    'tlsCert',
    'tlsCert must be { cert, privateKey } (paths to PEM files) or { certChain, privateKey } (PEM in memory)',
  );
}

/**
 * Checks PEM given in memory: a non-empty string or Buffer (any Uint8Array passes), kept as given;
 * the PEM itself is parsed natively.
 */
function checkPem(setting: string, value: unknown): string | Buffer {
  if ((typeof value === 'string' || isBytes(value)) && value.length > 0) return value as string | Buffer;
  throw new QuicSettingsError(setting, `${setting} must be PEM as a non-empty string or Buffer, got ${show(value)}`);
}

/**
 * Checks trust settings; returns a frozen copy.
 */
function checkTrust(value: unknown): TrustSettings {
  const trust = checkObject('trust', value);
  rejectUnknownKeys(trust, TRUST_KEYS, 'trust.');
  const checked: TrustSettings = {};
  const ca = trust['ca'];
  if (ca !== undefined) {
    const list = Array.isArray(ca) ? ca : [ca];
    if (list.length === 0 || !list.every((pem) => typeof pem === 'string' && pem !== '')) {
      throw new QuicSettingsError(
        'trust.ca',
        `trust.ca must be PEM: a non-empty string or an array of them, got ${show(ca)}`,
      );
    }
    checked.ca = Array.isArray(ca) ? Object.freeze([...(ca as string[])]) as string[] : (ca as string);
  }
  if (trust['caFile'] !== undefined) checked.caFile = checkNonEmptyString('trust.caFile', trust['caFile']);
  return Object.freeze(checked);
}

/**
 * Checks the hooks; returns a frozen copy.
 */
function checkHooks(value: unknown): Hooks {
  const hooks = checkObject('hooks', value);
  rejectUnknownKeys(hooks, HOOKS_KEYS, 'hooks.');
  const hook = hooks['connectionHook'];
  if (hook === undefined) return Object.freeze({});
  const isHook =
    typeof hook === 'object' &&
    hook !== null &&
    typeof (hook as Record<string, unknown>)['customizeConfigOptions'] === 'function';
  if (!isHook) {
    throw new QuicSettingsError(
      'hooks.connectionHook',
      `hooks.connectionHook must be an object with a customizeConfigOptions method, got ${show(hook)}`,
    );
  }
  return Object.freeze({ connectionHook: hook as Hooks['connectionHook'] });
}

/**
 * Checks a session ticket; returns a copy.
 */
function checkSession(value: unknown): Uint8Array {
  if (!isBytes(value) || value.length === 0) {
    throw new QuicSettingsError('session', `session must be a non-empty Uint8Array, got ${show(value)}`);
  }
  return Uint8Array.from(value);
}
