import type { napi } from '../native/binding';
import { checkBoolean, checkInteger, checkObject, rejectUnknownKeys } from './validators';

/**
 * Settings of the HTTP/3 layer: tokio-quiche's `Http3Settings`, in camelCase, durations in
 * milliseconds.
 *
 * Build one with {@link resolveHttp3Settings}; {@link toH3ConfigOptions} gives the part the native
 * `H3Config` takes. The other fields are enforced by the HTTP/3 driver.
 *
 * ## Example
 * ```ts
 * const h3 = resolveHttp3Settings({ maxRequestsPerConnection: 1_000, postAcceptTimeout: 10_000 });
 * const config = new napi.H3Config(toH3ConfigOptions(h3));
 * ```
 */
export interface Http3Settings {
  /**
   * The most requests a client may make on one connection. At a request beyond it, the server
   * closes the connection with H3_NO_ERROR and ignores the request. Server only.
   *
   * Defaults to `undefined` (no limit).
   */
  maxRequestsPerConnection?: number;

  /**
   * Sets SETTINGS_MAX_FIELD_SECTION_SIZE: the largest header section we accept, in bytes; a larger
   * one closes the connection with H3_EXCESSIVE_LOAD
   * ([RFC 9114 §4.2.2](https://www.rfc-editor.org/rfc/rfc9114.html#section-4.2.2)).
   *
   * Defaults to `undefined` (no limit announced).
   */
  maxHeaderListSize?: number;

  /**
   * Sets SETTINGS_QPACK_MAX_TABLE_CAPACITY: the size of the dynamic table the peer's encoder may use
   * ([RFC 9204 §5](https://www.rfc-editor.org/rfc/rfc9204.html#section-5)).
   *
   * Defaults to `undefined` (quiche's default, 0: no dynamic table).
   */
  qpackMaxTableCapacity?: number;

  /**
   * Sets SETTINGS_QPACK_BLOCKED_STREAMS: how many streams may be blocked on the dynamic table
   * ([RFC 9204 §5](https://www.rfc-editor.org/rfc/rfc9204.html#section-5)).
   *
   * Defaults to `undefined` (quiche's default, 0).
   */
  qpackBlockedStreams?: number;

  /**
   * How long after the handshake **started** the client has to send its first request, in
   * milliseconds; then the server closes the connection with H3_NO_ERROR. Server only.
   *
   * Defaults to `undefined` (no limit).
   */
  postAcceptTimeout?: number;

  /**
   * Sets SETTINGS_ENABLE_CONNECT_PROTOCOL, allowing extended CONNECT (WebTransport, MASQUE)
   * ([RFC 9220](https://www.rfc-editor.org/rfc/rfc9220.html)). On a server it also gates the
   * creation of datagram flows.
   *
   * Defaults to `false`.
   */
  enableExtendedConnect: boolean;

  /**
   * The largest body chunk read from a stream at once, in bytes.
   *
   * Defaults to `16_384` (16 KiB).
   */
  maxRecvBodyBufSize: number;
}

// Every key of Http3Settings, optional ones included, with its value type.
type AllHttp3Settings = { [K in keyof Required<Http3Settings>]: Http3Settings[K] };

/**
 * tokio-quiche's HTTP/3 defaults. Frozen.
 *
 * @see {@link Http3Settings} for what each field means.
 */
export const DEFAULT_HTTP3_SETTINGS: Readonly<Http3Settings> = Object.freeze<AllHttp3Settings>({
  maxRequestsPerConnection: undefined,
  maxHeaderListSize: undefined,
  qpackMaxTableCapacity: undefined,
  qpackBlockedStreams: undefined,
  postAcceptTimeout: undefined,
  enableExtendedConnect: false,
  maxRecvBodyBufSize: 16_384,
});

const MAX = Number.MAX_SAFE_INTEGER;

// The check of each setting: takes the value given (never undefined) and returns the value to keep.
// Settings errors name the field as `http3.<field>`.
const CHECKS: { [K in keyof Http3Settings]-?: (value: unknown) => Http3Settings[K] } = {
  maxRequestsPerConnection: (v) => checkInteger('http3.maxRequestsPerConnection', v, 1, MAX),
  maxHeaderListSize: (v) => checkInteger('http3.maxHeaderListSize', v, 0, MAX, 'bytes'),
  qpackMaxTableCapacity: (v) => checkInteger('http3.qpackMaxTableCapacity', v, 0, MAX, 'bytes'),
  qpackBlockedStreams: (v) => checkInteger('http3.qpackBlockedStreams', v, 0, MAX),
  postAcceptTimeout: (v) => checkInteger('http3.postAcceptTimeout', v, 1, MAX, 'ms'),
  enableExtendedConnect: (v) => checkBoolean('http3.enableExtendedConnect', v),
  maxRecvBodyBufSize: (v) => checkInteger('http3.maxRecvBodyBufSize', v, 1, MAX, 'bytes'),
};

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(CHECKS));

/**
 * Fills in the defaults of {@link Http3Settings} and checks every value.
 *
 * A field set to `undefined` takes its default. The result is frozen.
 *
 * ## Example
 * ```ts
 * resolveHttp3Settings({ maxHeaderListSize: 16_384 }).maxRecvBodyBufSize; // 16_384
 * ```
 * @param partial The settings to change from {@link DEFAULT_HTTP3_SETTINGS}.
 * @returns Complete, checked, frozen settings.
 * @throws {QuicSettingsError} `InvalidSetting` for an unknown key or a value of the wrong type or
 * out of range; `setting` is `'http3.<field>'`.
 */
export function resolveHttp3Settings(partial: Partial<Http3Settings> = {}): Readonly<Http3Settings> {
  const input = checkObject('http3', partial);
  rejectUnknownKeys(input, KNOWN_KEYS, 'http3.');
  const resolved: Record<string, unknown> = { ...DEFAULT_HTTP3_SETTINGS };
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined) {
      resolved[key] = CHECKS[key as keyof Http3Settings](value);
    }
  }
  return Object.freeze(resolved as unknown as Http3Settings);
}

/**
 * The options of the native `H3Config` for these settings: the SETTINGS we announce. A field left
 * `undefined` is left out, so quiche's default applies.
 *
 * @param settings Resolved settings (see {@link resolveHttp3Settings}).
 * @returns The options for `new napi.H3Config(…)`.
 */
export function toH3ConfigOptions(settings: Readonly<Http3Settings>): napi.H3ConfigOptions {
  const options: napi.H3ConfigOptions = { enableExtendedConnect: settings.enableExtendedConnect };
  if (settings.maxHeaderListSize !== undefined) options.maxFieldSectionSize = settings.maxHeaderListSize;
  if (settings.qpackMaxTableCapacity !== undefined) options.qpackMaxTableCapacity = settings.qpackMaxTableCapacity;
  if (settings.qpackBlockedStreams !== undefined) options.qpackBlockedStreams = settings.qpackBlockedStreams;
  return options;
}
