import { QuicSettingsError } from '../../src/errors/QuicSettingsError';
import { napi } from '../../src/native/binding';
import {
  DEFAULT_HTTP3_SETTINGS,
  resolveHttp3Settings,
  toH3ConfigOptions,
  type Http3Settings,
} from '../../src/settings/Http3Settings';

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

/** @test {DEFAULT_HTTP3_SETTINGS} */
describe('DEFAULT_HTTP3_SETTINGS', () => {
  it("should hold tokio-quiche's defaults", () => {
    expect(DEFAULT_HTTP3_SETTINGS).toEqual({
      maxRequestsPerConnection: undefined,
      maxHeaderListSize: undefined,
      qpackMaxTableCapacity: undefined,
      qpackBlockedStreams: undefined,
      postAcceptTimeout: undefined,
      enableExtendedConnect: false,
      maxRecvBodyBufSize: 16_384,
    });
    expect(Object.keys(DEFAULT_HTTP3_SETTINGS)).toHaveLength(7);
    expect(Object.isFrozen(DEFAULT_HTTP3_SETTINGS)).toBe(true);
  });
});

/** @test {resolveHttp3Settings} */
describe('resolveHttp3Settings', () => {
  it('should fill in the defaults and keep what is given', () => {
    const settings = resolveHttp3Settings({ maxHeaderListSize: 16_384, postAcceptTimeout: 10_000 });

    expect(settings.maxHeaderListSize).toBe(16_384);
    expect(settings.postAcceptTimeout).toBe(10_000);
    expect(settings.maxRecvBodyBufSize).toBe(16_384);
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it.each<[keyof Http3Settings, unknown]>([
    ['maxRequestsPerConnection', 0],
    ['maxHeaderListSize', -1],
    ['qpackMaxTableCapacity', 1.5],
    ['qpackBlockedStreams', '16'],
    ['postAcceptTimeout', 0],
    ['enableExtendedConnect', 'yes'],
    ['maxRecvBodyBufSize', 0],
  ])('should refuse %s = %p, naming http3.%s', (setting, value) => {
    const error = settingsErrorOf(() => resolveHttp3Settings({ [setting]: value } as Partial<Http3Settings>));

    expect(error.code).toBe('InvalidSetting');
    expect(error.setting).toBe(`http3.${setting}`);
  });

  it('should refuse an unknown key', () => {
    const error = settingsErrorOf(() => resolveHttp3Settings({ maxFieldSectionSize: 1 } as Partial<Http3Settings>));

    expect(error.setting).toBe('http3.maxFieldSectionSize');
  });
});

/** @test {toH3ConfigOptions} */
describe('toH3ConfigOptions', () => {
  it('should leave out what is undefined', () => {
    expect(toH3ConfigOptions(DEFAULT_HTTP3_SETTINGS)).toEqual({ enableExtendedConnect: false });
  });

  it('should map the SETTINGS we announce, and build a native H3Config', () => {
    const options = toH3ConfigOptions(
      resolveHttp3Settings({
        maxHeaderListSize: 32_768,
        qpackMaxTableCapacity: 4_096,
        qpackBlockedStreams: 16,
        enableExtendedConnect: true,
        maxRequestsPerConnection: 10,
      }),
    );

    expect(options).toEqual({
      maxFieldSectionSize: 32_768,
      qpackMaxTableCapacity: 4_096,
      qpackBlockedStreams: 16,
      enableExtendedConnect: true,
    });
    expect(new napi.H3Config(options)).toBeInstanceOf(napi.H3Config);
  });
});
