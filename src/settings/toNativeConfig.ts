import * as tls from 'node:tls';

import { QuicError } from '../errors/QuicError';
import { QuicSettingsError } from '../errors/QuicSettingsError';
import { napi } from '../native/binding';
import { callNative } from '../native/errors';
import { resolveConnectionParams, type ConnectionParams } from './ConnectionParams';
import { resolveKeylogFile } from './QuicSettings';
import { show } from './validators';

/**
 * Which end of a connection a native configuration is for.
 */
type Role = 'server' | 'client';

// The native options whose names differ from the QuicSettings field they come from, so that a
// native `InvalidSetting` names the field the user wrote.
const SETTING_OF_OPTION: Readonly<Record<string, string>> = Object.freeze({
  maxIdleTimeoutMs: 'maxIdleTimeout',
  initialRttMs: 'initialRtt',
});

// The line every PEM certificate starts with.
const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

/**
 * The native configuration options for connection parameters: the first step of tokio-quiche's
 * cascade `ConnectionParams` → `quiche::Config`, without building anything.
 *
 * - Every QUIC setting the native `Config` knows is passed, so tokio-quiche's defaults apply
 *   rather than quiche's. Durations keep their milliseconds (`maxIdleTimeout` → `maxIdleTimeoutMs`).
 *   Settings that act above quiche (`disableClientIpValidation`, `qlogDir`, `handshakeTimeout`,
 *   `listenBacklog`, `addressTokenLifetime`, …) are read by the router and the worker, not here.
 * - `verifyPeer` left `undefined` becomes `false` on a server and `true` on a client.
 * - A certificate given as paths becomes `certChainFile`/`privateKeyFile` (the native side reads
 *   the files); one given in memory becomes `certChain`/`privateKey`.
 * - Trust: `trust.ca`/`trust.caFile` when given; otherwise, when the peer is verified, Node's
 *   `tls.rootCertificates`.
 * - `logKeys` is on when a key log file is configured (or `SSLKEYLOGFILE` is set).
 * - Last, the {@link ConnectionHook} (if any) gets the options, frozen, and may return others.
 *
 * ## Example
 * ```ts
 * const options = toNativeConfigOptions(ConnectionParams.newClient(), 'client');
 * options.verifyPeer; // true
 * ```
 * @param params The connection parameters (checked again here, so hand-written ones are safe).
 * @param role Whether the configuration is for a listener or a client connection.
 * @returns The options for `new napi.Config(…)`.
 * @throws {QuicSettingsError} `InvalidSetting` for an invalid parameter, a server without
 * `tlsCert`, a client with `statelessResetToken`, or a hook that returns something other than an
 * object.
 * @throws {QuicError} `InvalidPem` for a `trust.ca` entry without a PEM certificate in it.
 */
export function toNativeConfigOptions(params: ConnectionParams, role: Role): napi.ConfigOptions {
  const { settings: s, tlsCert, trust, hooks } = resolveConnectionParams(params);
  if (role === 'server' && tlsCert === undefined) {
    throw new QuicSettingsError('tlsCert', 'tlsCert is required on a server');
  }
  if (role === 'client' && s.statelessResetToken !== undefined) {
    throw new QuicSettingsError(
      'statelessResetToken',
      'statelessResetToken is a server setting; a client must not send one',
    );
  }
  const verifyPeer = s.verifyPeer ?? role === 'client';

  const options: napi.ConfigOptions = {
    alpn: [...s.alpn],
    enableDgram: s.enableDgram,
    dgramRecvMaxQueueLen: s.dgramRecvMaxQueueLen,
    dgramSendMaxQueueLen: s.dgramSendMaxQueueLen,
    enableEarlyData: s.enableEarlyData,
    initialMaxData: s.initialMaxData,
    initialMaxStreamDataBidiLocal: s.initialMaxStreamDataBidiLocal,
    initialMaxStreamDataBidiRemote: s.initialMaxStreamDataBidiRemote,
    initialMaxStreamDataUni: s.initialMaxStreamDataUni,
    initialMaxStreamsBidi: s.initialMaxStreamsBidi,
    initialMaxStreamsUni: s.initialMaxStreamsUni,
    maxIdleTimeoutMs: s.maxIdleTimeout,
    disableActiveMigration: s.disableActiveMigration,
    activeConnectionIdLimit: s.activeConnectionIdLimit,
    maxRecvUdpPayloadSize: s.maxRecvUdpPayloadSize,
    maxSendUdpPayloadSize: s.maxSendUdpPayloadSize,
    ccAlgorithm: s.ccAlgorithm,
    initialCongestionWindowPackets: s.initialCongestionWindowPackets,
    enableRelaxedLossThreshold: s.enableRelaxedLossThreshold,
    discoverPathMtu: s.discoverPathMtu,
    pmtudMaxProbes: s.pmtudMaxProbes,
    enableHystart: s.enableHystart,
    enablePacing: s.enablePacing,
    maxConnectionWindow: s.maxConnectionWindow,
    maxStreamWindow: s.maxStreamWindow,
    enableSendStreamsBlocked: s.enableSendStreamsBlocked,
    grease: s.grease,
    maxAmplificationFactor: s.maxAmplificationFactor,
    sendCapacityFactor: s.sendCapacityFactor,
    ackDelayExponent: s.ackDelayExponent,
    maxAckDelay: s.maxAckDelay,
    maxPathChallengeRecvQueueLen: s.maxPathChallengeRecvQueueLen,
    disableDcidReuse: s.disableDcidReuse,
    verifyPeer,
  };
  if (s.maxPacingRate !== undefined) options.maxPacingRate = s.maxPacingRate;
  if (s.keyExchangeGroups !== undefined) options.keyExchangeGroups = [...s.keyExchangeGroups];
  if (s.statelessResetToken !== undefined) options.statelessResetToken = Array.from(s.statelessResetToken);
  if (s.trackUnknownTransportParameters !== undefined) {
    options.trackUnknownTransportParameters = s.trackUnknownTransportParameters;
  }
  if (s.initialRtt !== undefined) options.initialRttMs = s.initialRtt;
  if (s.ticketKey !== undefined) options.ticketKey = Array.from(s.ticketKey);
  if (resolveKeylogFile(s) !== undefined) options.logKeys = true;

  // Our certificate: paths are read natively, PEM in memory is passed as text.
  if (tlsCert !== undefined) {
    if ('cert' in tlsCert) {
      options.certChainFile = tlsCert.cert;
      options.privateKeyFile = tlsCert.privateKey;
    } else {
      options.certChain = pemText(tlsCert.certChain);
      options.privateKey = pemText(tlsCert.privateKey);
    }
  }

  // Whom we trust: what the user gave, else Node's roots when we verify the peer.
  if (trust?.ca !== undefined) options.ca = checkCaPem(trust.ca);
  if (trust?.caFile !== undefined) options.caFile = trust.caFile;
  if (verifyPeer && options.ca === undefined && options.caFile === undefined) {
    options.ca = NODE_ROOTS as string[];
  }

  return runConnectionHook(hooks.connectionHook, options, role, tlsCert);
}

/**
 * Builds the native configuration for connection parameters: tokio-quiche's cascade
 * `ConnectionParams` → `quiche::Config`, once per listener; client connections share theirs
 * through `ClientConfigCache`.
 *
 * ## Example
 * ```ts
 * const params = ConnectionParams.newServer({}, { cert: 'cert.pem', privateKey: 'key.pem' });
 * const config = createNativeConfig(params, 'server');
 * ```
 * @see {@link toNativeConfigOptions} for how the parameters map to native options.
 * @param params The connection parameters.
 * @param role Whether the configuration is for a listener or a client connection.
 * @returns The native configuration, shared by every connection made from it.
 * @throws {QuicSettingsError} `InvalidSetting` as {@link toNativeConfigOptions} says, or for a
 * value the native side refuses (e.g. from a hook), naming the `QuicSettings` field.
 * @throws {QuicError} `CertificateFile` for a certificate, key or CA file that cannot be read;
 * `InvalidPem` for PEM that does not parse or a key that does not match its certificate;
 * `InvalidArgument` for options of the wrong type (from a hook).
 */
export function createNativeConfig(params: ConnectionParams, role: Role): napi.Config {
  return buildNativeConfig(toNativeConfigOptions(params, role));
}

/**
 * Node's root certificates as the default trust: one frozen array, so configurations that trust
 * them can be recognized by identity (see `ClientConfigCache`).
 */
export const NODE_ROOTS: readonly string[] = Object.freeze([...tls.rootCertificates]);

/**
 * Builds the native configuration for native options (from {@link toNativeConfigOptions}), with
 * {@link createNativeConfig}'s errors.
 */
export function buildNativeConfig(options: napi.ConfigOptions): napi.Config {
  try {
    return callNative(() => new napi.Config(options));
  } catch (e) {
    if (e instanceof QuicSettingsError && e.setting in SETTING_OF_OPTION) {
      throw new QuicSettingsError(SETTING_OF_OPTION[e.setting] as string, e.message, { cause: e.cause });
    }
    throw e;
  }
}

/**
 * Runs the connection hook, if any, on a frozen copy of the options, and checks what it returns.
 */
function runConnectionHook(
  hook: ConnectionParams['hooks']['connectionHook'],
  options: napi.ConfigOptions,
  role: Role,
  tlsCert: ConnectionParams['tlsCert'],
): napi.ConfigOptions {
  if (hook === undefined) return options;
  const frozen = Object.freeze({ ...options, ...freezeArrays(options) });
  const customized = hook.customizeConfigOptions(frozen, { role, tlsCert });
  if (customized === undefined) return options;
  if (typeof customized !== 'object' || customized === null || Array.isArray(customized)) {
    throw new QuicSettingsError(
      'hooks.connectionHook',
      `hooks.connectionHook.customizeConfigOptions must return options or undefined, got ${show(customized)}`,
    );
  }
  return customized;
}

/**
 * Frozen copies of the array-valued options, so a hook cannot change them in place.
 */
function freezeArrays(options: napi.ConfigOptions): Partial<napi.ConfigOptions> {
  const arrays: Partial<napi.ConfigOptions> = {};
  for (const key of ['alpn', 'ca', 'statelessResetToken', 'ticketKey'] as const) {
    const value = options[key];
    if (value !== undefined) (arrays as Record<string, unknown>)[key] = Object.freeze([...value]);
  }
  return arrays;
}

/**
 * PEM given in memory as text.
 */
function pemText(pem: string | Buffer): string {
  return typeof pem === 'string' ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength).toString('utf8');
}

/**
 * The CA list for the native side, refusing an entry with no certificate in it: the native side
 * would skip it without a word and then trust nothing.
 */
function checkCaPem(ca: string | string[]): string[] {
  const list = Array.isArray(ca) ? [...ca] : [ca];
  list.forEach((pem, index) => {
    if (!pem.includes(PEM_CERTIFICATE)) {
      const where = Array.isArray(ca) ? `trust.ca[${index}]` : 'trust.ca';
      throw new QuicError('InvalidPem', `invalid CA certificate: ${where} has no "${PEM_CERTIFICATE}" block`);
    }
  });
  return list;
}
