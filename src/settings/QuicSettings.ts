import * as zlib from 'node:zlib';

import { QuicSettingsError } from '../errors/QuicSettingsError';
import { CONGESTION_CONTROL_ALGORITHMS, type CongestionControlAlgorithm } from './CongestionControlAlgorithm';
import { QLOG_COMPRESSIONS, type QlogCompression } from './QlogCompression';
import {
  U32_MAX,
  checkBoolean,
  checkBytes,
  checkInteger,
  checkNonEmptyString,
  checkObject,
  checkOneOf,
  checkPositiveNumber,
  rejectUnknownKeys,
  show,
} from './validators';

/**
 * QUIC settings of a listener or a client connection: tokio-quiche's `QuicSettings`, field by
 * field in camelCase, with tokio-quiche's defaults (which differ from quiche's own in places; see
 * each field).
 *
 * Durations are numbers of milliseconds. Build one with {@link resolveQuicSettings}, which fills in
 * the defaults and checks every value; {@link DEFAULT_QUIC_SETTINGS} holds the defaults.
 *
 * ## Example
 * ```ts
 * const settings = resolveQuicSettings({ maxIdleTimeout: 30_000, enablePacing: true });
 * const params = ConnectionParams.newServer(settings, { cert: 'cert.pem', privateKey: 'key.pem' });
 * ```
 * @see {@link Http3Settings} for the HTTP/3 layer's settings.
 */
export interface QuicSettings {
  /**
   * The ALPN protocol identifiers to offer (client) or accept (server), most preferred first.
   *
   * Each must be 1 to 255 bytes, and at least one is needed: QUIC requires ALPN
   * ([RFC 9001 §8.1](https://www.rfc-editor.org/rfc/rfc9001.html#section-8.1)).
   *
   * Defaults to `['h3']`.
   */
  alpn: readonly string[];

  /**
   * Enables receiving and sending DATAGRAM frames
   * ([RFC 9221](https://www.rfc-editor.org/rfc/rfc9221.html)). HTTP/3 copies this setting to
   * announce HTTP/3 datagrams ([RFC 9297](https://www.rfc-editor.org/rfc/rfc9297.html)).
   *
   * Defaults to `true`.
   */
  enableDgram: boolean;

  /**
   * Max number of received DATAGRAM frames queued until the application reads them; more are dropped.
   *
   * Defaults to `65536`.
   */
  dgramRecvMaxQueueLen: number;

  /**
   * Max number of DATAGRAM frames queued for sending; more are dropped.
   *
   * Defaults to `65536`.
   */
  dgramSendMaxQueueLen: number;

  /**
   * Enables 0-RTT: a server accepts early data from a resumed client, and a client sends early data
   * when it resumes a session (`ConnectionParams.session`).
   *
   * Defaults to `false`.
   */
  enableEarlyData: boolean;

  /**
   * Sets the `initial_max_data` transport parameter: the bytes the peer may send on all streams
   * before we raise the limit ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `10_000_000` (10 MB).
   */
  initialMaxData: number;

  /**
   * Sets the `initial_max_stream_data_bidi_local` transport parameter: the bytes the peer may send
   * on a bidirectional stream we opened
   * ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `1_000_000` (1 MB).
   */
  initialMaxStreamDataBidiLocal: number;

  /**
   * Sets the `initial_max_stream_data_bidi_remote` transport parameter: the bytes the peer may send
   * on a bidirectional stream it opened
   * ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `1_000_000` (1 MB).
   */
  initialMaxStreamDataBidiRemote: number;

  /**
   * Sets the `initial_max_stream_data_uni` transport parameter: the bytes the peer may send on a
   * unidirectional stream ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `1_000_000` (1 MB).
   */
  initialMaxStreamDataUni: number;

  /**
   * Sets the `initial_max_streams_bidi` transport parameter: how many bidirectional streams the
   * peer may open ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `100`.
   */
  initialMaxStreamsBidi: number;

  /**
   * Sets the `initial_max_streams_uni` transport parameter: how many unidirectional streams the
   * peer may open ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `100`.
   */
  initialMaxStreamsUni: number;

  /**
   * Sets the `max_idle_timeout` transport parameter, in milliseconds: the connection closes
   * silently after this long without activity. The effective timeout is the smaller of ours and
   * the peer's; `0` disables ours ([RFC 9000 §10.1](https://www.rfc-editor.org/rfc/rfc9000.html#section-10.1)).
   *
   * Defaults to `56_000` (56 s).
   */
  maxIdleTimeout: number;

  /**
   * Sets the `disable_active_migration` transport parameter: tells the peer not to migrate the
   * connection to a new address ([RFC 9000 §9](https://www.rfc-editor.org/rfc/rfc9000.html#section-9)).
   *
   * Defaults to `true`.
   */
  disableActiveMigration: boolean;

  /**
   * Sets the `active_connection_id_limit` transport parameter: how many of our connection IDs the
   * peer may keep active. At least `2`
   * ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `2`.
   */
  activeConnectionIdLimit: number;

  /**
   * Sets the `max_udp_payload_size` transport parameter: the largest UDP payload we accept, from
   * 1200 to 65527 bytes ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `1350`.
   */
  maxRecvUdpPayloadSize: number;

  /**
   * The largest UDP payload we send, from 1200 to 65527 bytes, until path MTU discovery (if
   * enabled) finds a larger one.
   *
   * Defaults to `1350`.
   */
  maxSendUdpPayloadSize: number;

  /**
   * Turns off the server's address validation: with `false`, a client's first Initial is answered
   * with a Retry carrying an address-validation token
   * ([RFC 9000 §8.1](https://www.rfc-editor.org/rfc/rfc9000.html#section-8.1)), which costs one
   * round trip and protects against spoofed source addresses. Server only.
   *
   * Defaults to `false` (Retry is on).
   */
  disableClientIpValidation: boolean;

  /**
   * The file to append TLS secrets to, in the NSS key log format, for Wireshark and friends. When
   * `undefined`, the `SSLKEYLOGFILE` environment variable is used if set (see
   * {@link resolveKeylogFile}). Unlike tokio-quiche, no build flag is needed: keep the variable
   * unset in production.
   *
   * Defaults to `undefined`.
   */
  keylogFile?: string;

  /**
   * The directory to write one qlog file per connection to
   * ([qlog](https://datatracker.ietf.org/doc/draft-ietf-quic-qlog-main-schema/)); `undefined`
   * writes none.
   *
   * Defaults to `undefined`.
   */
  qlogDir?: string;

  /**
   * How qlog files in {@link QuicSettings.qlogDir} are compressed.
   *
   * Defaults to `'none'`.
   */
  qlogCompression: QlogCompression;

  /**
   * The congestion control algorithm: `reno`, `cubic`, `bbr2` or `bbr2_gcongestion`
   * ([RFC 9002](https://www.rfc-editor.org/rfc/rfc9002.html),
   * [RFC 9438](https://www.rfc-editor.org/rfc/rfc9438.html)).
   *
   * Defaults to `'cubic'`.
   */
  ccAlgorithm: CongestionControlAlgorithm;

  /**
   * The initial congestion window, in packets
   * ([RFC 9002 §7.2](https://www.rfc-editor.org/rfc/rfc9002.html#section-7.2)).
   *
   * Defaults to `10`.
   */
  initialCongestionWindowPackets: number;

  /**
   * Enables quiche's relaxed loss threshold, which declares fewer packets lost on reordering.
   *
   * Defaults to `false`.
   */
  enableRelaxedLossThreshold: boolean;

  /**
   * Enables path MTU discovery (DPLPMTUD, [RFC 8899](https://www.rfc-editor.org/rfc/rfc8899.html);
   * [RFC 9000 §14.3](https://www.rfc-editor.org/rfc/rfc9000.html#section-14.3)), which may raise
   * the send size above {@link QuicSettings.maxSendUdpPayloadSize}.
   *
   * Defaults to `false`.
   */
  discoverPathMtu: boolean;

  /**
   * Max probes sent for each size path MTU discovery tries, from 0 to 255; `0` means quiche's default.
   *
   * Defaults to `3`.
   */
  pmtudMaxProbes: number;

  /**
   * Enables HyStart++ in slow start ([RFC 9406](https://www.rfc-editor.org/rfc/rfc9406.html)).
   *
   * Defaults to `true`.
   */
  enableHystart: boolean;

  /**
   * Enables pacing: quiche then gives each batch a send time. The native Linux socket hands it to
   * the kernel (SO_TXTIME, `capabilities.txtime`), which releases the datagrams then when the
   * interface's queueing discipline paces by time (`fq`, `etf`) and at once otherwise; `node:dgram`
   * sends at once.
   *
   * Defaults to `false` (quiche's own default is `true`).
   */
  enablePacing: boolean;

  /**
   * Caps the pacing rate, in bytes per second; `undefined` leaves it uncapped.
   *
   * Defaults to `undefined`.
   */
  maxPacingRate?: number;

  /**
   * Counts packets per client IP subnet in the metrics, which is expensive with many clients.
   *
   * Defaults to `false`.
   */
  enableExpensivePacketCountMetrics: boolean;

  /**
   * How long the handshake may take, in milliseconds, before the connection fails with
   * `HandshakeError('HandshakeTimeout')`; `undefined` sets no limit beyond the idle timeout.
   *
   * Defaults to `undefined`.
   */
  handshakeTimeout?: number;

  /**
   * How many accepted connections may wait for the application to take them before new ones
   * are refused (tokio-quiche's accept-channel capacity).
   *
   * Defaults to `1024`.
   */
  listenBacklog: number;

  /**
   * Verifies the peer's certificate chain. `undefined` picks by role: a server does not ask for
   * client certificates (`false`), and a client verifies the server (`true`) against
   * {@link TrustSettings}, by default Node's `tls.rootCertificates`. This differs from
   * tokio-quiche, whose clients do not verify unless told to.
   *
   * Defaults to `undefined` (`false` on a server, `true` on a client).
   */
  verifyPeer?: boolean;

  /**
   * The TLS 1.3 key-exchange groups to offer (client) or accept (server), most preferred first, in
   * BoringSSL's names: `X25519MLKEM768` (hybrid post-quantum), `X25519`, `P-256`, `P-384`, …. A
   * client that leaves out `X25519MLKEM768` sends a one-datagram ClientHello and saves the ML-KEM
   * work on both ends (~10% of a handshake's CPU here), at the cost of post-quantum protection.
   *
   * Defaults to `undefined`: BoringSSL's own list, post-quantum first.
   */
  keyExchangeGroups?: readonly string[];

  /**
   * The largest connection-level flow control window auto-tuning may grow to, in bytes.
   *
   * Defaults to `25_165_824` (24 MiB).
   */
  maxConnectionWindow: number;

  /**
   * The largest stream-level flow control window auto-tuning may grow to, in bytes.
   *
   * Defaults to `16_777_216` (16 MiB).
   */
  maxStreamWindow: number;

  /**
   * Sends STREAMS_BLOCKED frames when the peer's stream limit stops us from opening a stream
   * ([RFC 9000 §19.14](https://www.rfc-editor.org/rfc/rfc9000.html#section-19.14)).
   *
   * Defaults to `false`.
   */
  enableSendStreamsBlocked: boolean;

  /**
   * Sends GREASE values (reserved transport parameters and codes) so peers stay tolerant of
   * unknown ones ([RFC 9000 §18.1](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.1)).
   *
   * Defaults to `true`.
   */
  grease: boolean;

  /**
   * The anti-amplification factor: before the client's address is validated, a server sends at
   * most this many times the bytes it received
   * ([RFC 9000 §8](https://www.rfc-editor.org/rfc/rfc9000.html#section-8)).
   *
   * Defaults to `3`.
   */
  maxAmplificationFactor: number;

  /**
   * The factor by which the send capacity exceeds the congestion window; a positive number.
   *
   * Defaults to `1`.
   */
  sendCapacityFactor: number;

  /**
   * Sets the `ack_delay_exponent` transport parameter, from 0 to 20
   * ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `3`.
   */
  ackDelayExponent: number;

  /**
   * Sets the `max_ack_delay` transport parameter, in milliseconds, below 2^14
   * ([RFC 9000 §18.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-18.2)).
   *
   * Defaults to `25`.
   */
  maxAckDelay: number;

  /**
   * Max number of received PATH_CHALLENGE frames queued for an answer
   * ([RFC 9000 §8.2](https://www.rfc-editor.org/rfc/rfc9000.html#section-8.2)).
   *
   * Defaults to `3`.
   */
  maxPathChallengeRecvQueueLen: number;

  /**
   * Sets the `stateless_reset_token` transport parameter (16 bytes) for the server's first
   * connection ID ([RFC 9000 §10.3](https://www.rfc-editor.org/rfc/rfc9000.html#section-10.3)).
   * Server only: a client configuration with a token is refused.
   *
   * Defaults to `undefined` (none).
   */
  statelessResetToken?: Uint8Array;

  /**
   * Never reuses a destination connection ID on a new path (quiche otherwise may, when the peer
   * has supplied no spare one).
   *
   * Defaults to `false`.
   */
  disableDcidReuse: boolean;

  /**
   * Keeps up to this many bytes of the peer's unknown transport parameters, for inspection;
   * `undefined` keeps none.
   *
   * Defaults to `undefined`.
   */
  trackUnknownTransportParameters?: number;

  /**
   * The initial RTT estimate, in milliseconds, before the first sample
   * ([RFC 9002 §6.2.2](https://www.rfc-editor.org/rfc/rfc9002.html#section-6.2.2)). Not in
   * tokio-quiche.
   *
   * Defaults to `undefined` (quiche's 333 ms).
   */
  initialRtt?: number;

  /**
   * The TLS session ticket key (48 bytes), so that servers sharing it, or restarted, resume each
   * other's sessions. `undefined` lets BoringSSL pick a random key per configuration. Not in
   * tokio-quiche.
   *
   * Defaults to `undefined`.
   */
  ticketKey?: Uint8Array;

  /**
   * How long an address-validation (Retry) token stays valid, in milliseconds
   * ([RFC 9000 §8.1.3](https://www.rfc-editor.org/rfc/rfc9000.html#section-8.1.3)). tokio-quiche's
   * Retry tokens never expire; ours do. Server only.
   *
   * Defaults to `60_000` (60 s).
   */
  addressTokenLifetime: number;
}

// Every key of QuicSettings, optional ones included, with its value type.
type AllQuicSettings = { [K in keyof Required<QuicSettings>]: QuicSettings[K] };

/**
 * tokio-quiche's defaults, plus ours for the fields it does not have. Frozen.
 *
 * @see {@link QuicSettings} for what each field means.
 */
export const DEFAULT_QUIC_SETTINGS: Readonly<QuicSettings> = Object.freeze<AllQuicSettings>({
  alpn: Object.freeze(['h3']),
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
  maxIdleTimeout: 56_000,
  disableActiveMigration: true,
  activeConnectionIdLimit: 2,
  maxRecvUdpPayloadSize: 1350,
  maxSendUdpPayloadSize: 1350,
  disableClientIpValidation: false,
  keylogFile: undefined,
  qlogDir: undefined,
  qlogCompression: 'none',
  ccAlgorithm: 'cubic',
  initialCongestionWindowPackets: 10,
  enableRelaxedLossThreshold: false,
  discoverPathMtu: false,
  pmtudMaxProbes: 3,
  enableHystart: true,
  enablePacing: false,
  maxPacingRate: undefined,
  enableExpensivePacketCountMetrics: false,
  handshakeTimeout: undefined,
  listenBacklog: 1024,
  verifyPeer: undefined,
  keyExchangeGroups: undefined,
  maxConnectionWindow: 24 * 1024 * 1024,
  maxStreamWindow: 16 * 1024 * 1024,
  enableSendStreamsBlocked: false,
  grease: true,
  maxAmplificationFactor: 3,
  sendCapacityFactor: 1,
  ackDelayExponent: 3,
  maxAckDelay: 25,
  maxPathChallengeRecvQueueLen: 3,
  statelessResetToken: undefined,
  disableDcidReuse: false,
  trackUnknownTransportParameters: undefined,
  initialRtt: undefined,
  ticketKey: undefined,
  addressTokenLifetime: 60_000,
});

// The bounds of a UDP payload QUIC may use: the minimum datagram size of RFC 9000 §14 up to the
// largest `max_udp_payload_size` of §18.2.
const MIN_UDP_PAYLOAD = 1200;
const MAX_UDP_PAYLOAD = 65_527;

/** A non-empty list of group names, none empty or containing the `:` BoringSSL separates them with. */
function checkGroupList(setting: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((g) => typeof g !== 'string' || g === '' || g.includes(':'))) {
    throw new QuicSettingsError(setting, `${setting} must be a non-empty array of group names (e.g. ['X25519', 'P-256']), got ${show(value)}`);
  }
  return Object.freeze([...(value as string[])]);
}

/**
 * Checks one ALPN list: non-empty, each identifier 1 to 255 bytes of UTF-8. Returns a frozen copy.
 */
function checkAlpn(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new QuicSettingsError('alpn', `alpn must be a non-empty array of protocol names, got ${show(value)}`);
  }
  for (const proto of value) {
    if (typeof proto !== 'string' || proto === '' || Buffer.byteLength(proto) > 255) {
      throw new QuicSettingsError('alpn', `alpn entries must be strings of 1 to 255 bytes, got ${show(proto)}`);
    }
  }
  return Object.freeze([...(value as string[])]);
}

/**
 * Checks the qlog compression, refusing Zstandard where `node:zlib` lacks it.
 */
function checkQlogCompression(value: unknown): QlogCompression {
  const compression = checkOneOf('qlogCompression', value, QLOG_COMPRESSIONS);
  if (compression === 'zstd' && typeof (zlib as Record<string, unknown>)['createZstdCompress'] !== 'function') {
    throw new QuicSettingsError(
      'qlogCompression',
      `qlogCompression 'zstd' needs a Node.js whose zlib has Zstandard (22.15 or later)`,
    );
  }
  return compression;
}

// Unsigned integers of the settings: [min, max, unit].
type IntegerRange = readonly [number, number, string?];
const u64 = (unit?: string): IntegerRange => [0, Number.MAX_SAFE_INTEGER, unit];
const u32 = (min = 0, unit?: string): IntegerRange => [min, U32_MAX, unit];

// The check of each setting: takes the value given (never undefined) and returns the value to keep.
const CHECKS: { [K in keyof QuicSettings]-?: (value: unknown) => QuicSettings[K] } = {
  alpn: checkAlpn,
  enableDgram: (v) => checkBoolean('enableDgram', v),
  dgramRecvMaxQueueLen: (v) => checkInteger('dgramRecvMaxQueueLen', v, ...u32()),
  dgramSendMaxQueueLen: (v) => checkInteger('dgramSendMaxQueueLen', v, ...u32()),
  enableEarlyData: (v) => checkBoolean('enableEarlyData', v),
  initialMaxData: (v) => checkInteger('initialMaxData', v, ...u64('bytes')),
  initialMaxStreamDataBidiLocal: (v) => checkInteger('initialMaxStreamDataBidiLocal', v, ...u64('bytes')),
  initialMaxStreamDataBidiRemote: (v) => checkInteger('initialMaxStreamDataBidiRemote', v, ...u64('bytes')),
  initialMaxStreamDataUni: (v) => checkInteger('initialMaxStreamDataUni', v, ...u64('bytes')),
  initialMaxStreamsBidi: (v) => checkInteger('initialMaxStreamsBidi', v, ...u64()),
  initialMaxStreamsUni: (v) => checkInteger('initialMaxStreamsUni', v, ...u64()),
  maxIdleTimeout: (v) => checkInteger('maxIdleTimeout', v, ...u64('ms')),
  disableActiveMigration: (v) => checkBoolean('disableActiveMigration', v),
  activeConnectionIdLimit: (v) => checkInteger('activeConnectionIdLimit', v, 2, Number.MAX_SAFE_INTEGER),
  maxRecvUdpPayloadSize: (v) => checkInteger('maxRecvUdpPayloadSize', v, MIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD, 'bytes'),
  maxSendUdpPayloadSize: (v) => checkInteger('maxSendUdpPayloadSize', v, MIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD, 'bytes'),
  disableClientIpValidation: (v) => checkBoolean('disableClientIpValidation', v),
  keylogFile: (v) => checkNonEmptyString('keylogFile', v),
  qlogDir: (v) => checkNonEmptyString('qlogDir', v),
  qlogCompression: checkQlogCompression,
  ccAlgorithm: (v) => checkOneOf('ccAlgorithm', v, CONGESTION_CONTROL_ALGORITHMS),
  initialCongestionWindowPackets: (v) => checkInteger('initialCongestionWindowPackets', v, ...u32(1, 'packets')),
  enableRelaxedLossThreshold: (v) => checkBoolean('enableRelaxedLossThreshold', v),
  discoverPathMtu: (v) => checkBoolean('discoverPathMtu', v),
  pmtudMaxProbes: (v) => checkInteger('pmtudMaxProbes', v, 0, 255),
  enableHystart: (v) => checkBoolean('enableHystart', v),
  enablePacing: (v) => checkBoolean('enablePacing', v),
  maxPacingRate: (v) => checkInteger('maxPacingRate', v, ...u64('bytes per second')),
  enableExpensivePacketCountMetrics: (v) => checkBoolean('enableExpensivePacketCountMetrics', v),
  handshakeTimeout: (v) => checkInteger('handshakeTimeout', v, 1, Number.MAX_SAFE_INTEGER, 'ms'),
  listenBacklog: (v) => checkInteger('listenBacklog', v, ...u32(1)),
  verifyPeer: (v) => checkBoolean('verifyPeer', v),
  keyExchangeGroups: (v) => checkGroupList('keyExchangeGroups', v),
  maxConnectionWindow: (v) => checkInteger('maxConnectionWindow', v, ...u64('bytes')),
  maxStreamWindow: (v) => checkInteger('maxStreamWindow', v, ...u64('bytes')),
  enableSendStreamsBlocked: (v) => checkBoolean('enableSendStreamsBlocked', v),
  grease: (v) => checkBoolean('grease', v),
  maxAmplificationFactor: (v) => checkInteger('maxAmplificationFactor', v, ...u32(1)),
  sendCapacityFactor: (v) => checkPositiveNumber('sendCapacityFactor', v),
  ackDelayExponent: (v) => checkInteger('ackDelayExponent', v, 0, 20),
  maxAckDelay: (v) => checkInteger('maxAckDelay', v, 0, 2 ** 14 - 1, 'ms'),
  maxPathChallengeRecvQueueLen: (v) => checkInteger('maxPathChallengeRecvQueueLen', v, ...u32()),
  statelessResetToken: (v) => checkBytes('statelessResetToken', v, 16),
  disableDcidReuse: (v) => checkBoolean('disableDcidReuse', v),
  trackUnknownTransportParameters: (v) => checkInteger('trackUnknownTransportParameters', v, ...u32(0, 'bytes')),
  initialRtt: (v) => checkPositiveNumber('initialRtt', v, 'ms'),
  ticketKey: (v) => checkBytes('ticketKey', v, 48),
  addressTokenLifetime: (v) => checkInteger('addressTokenLifetime', v, 1, Number.MAX_SAFE_INTEGER, 'ms'),
};

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(CHECKS));

/**
 * Fills in the defaults of {@link QuicSettings} and checks every value.
 *
 * A field set to `undefined` takes its default. Byte arrays and the ALPN list are copied, and the
 * result is frozen, so later changes to `partial` do not reach it.
 *
 * ## Example
 * ```ts
 * const settings = resolveQuicSettings({ ccAlgorithm: 'bbr2', maxIdleTimeout: 10_000 });
 * settings.initialMaxData; // 10_000_000
 * ```
 * @param partial The settings to change from {@link DEFAULT_QUIC_SETTINGS}.
 * @returns Complete, checked, frozen settings.
 * @throws {QuicSettingsError} `InvalidSetting` for an unknown key or a value of the wrong type or
 * out of range; `setting` is the field's name.
 */
export function resolveQuicSettings(partial: Partial<QuicSettings> = {}): Readonly<QuicSettings> {
  const input = checkObject('settings', partial);
  rejectUnknownKeys(input, KNOWN_KEYS);
  const resolved: Record<string, unknown> = { ...DEFAULT_QUIC_SETTINGS };
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined) {
      resolved[key] = CHECKS[key as keyof QuicSettings](value);
    }
  }
  return Object.freeze(resolved as unknown as QuicSettings);
}

/**
 * The key log file a connection with these settings writes to: {@link QuicSettings.keylogFile},
 * or else the `SSLKEYLOGFILE` environment variable when it is set and not empty.
 *
 * @param settings Resolved settings.
 * @param env The environment to read; defaults to `process.env`.
 * @returns The path, or `undefined` when no keys are logged.
 */
export function resolveKeylogFile(
  settings: Pick<QuicSettings, 'keylogFile'>,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (settings.keylogFile !== undefined) return settings.keylogFile;
  const fromEnv = env['SSLKEYLOGFILE'];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

