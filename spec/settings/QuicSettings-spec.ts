import * as zlib from 'node:zlib';

import { QuicSettingsError } from '../../src/errors/QuicSettingsError';
import {
  DEFAULT_QUIC_SETTINGS,
  resolveKeylogFile,
  resolveQuicSettings,
  type QuicSettings,
} from '../../src/settings/QuicSettings';

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

/** @test {DEFAULT_QUIC_SETTINGS} */
describe('DEFAULT_QUIC_SETTINGS', () => {
  it("should hold tokio-quiche's defaults and ours", () => {
    // Reference §2.2, field by field; then the fields tokio-quiche does not have.
    expect(DEFAULT_QUIC_SETTINGS).toEqual({
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
    expect(Object.keys(DEFAULT_QUIC_SETTINGS)).toHaveLength(48);
  });

  it('should be frozen, its ALPN list too', () => {
    expect(Object.isFrozen(DEFAULT_QUIC_SETTINGS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_QUIC_SETTINGS.alpn)).toBe(true);
  });
});

/** @test {resolveQuicSettings} */
describe('resolveQuicSettings', () => {
  it('should return the defaults for nothing', () => {
    expect(resolveQuicSettings()).toEqual(DEFAULT_QUIC_SETTINGS);
    expect(resolveQuicSettings({})).toEqual(DEFAULT_QUIC_SETTINGS);
  });

  it('should override the fields given and keep the others', () => {
    const settings = resolveQuicSettings({ maxIdleTimeout: 30_000, ccAlgorithm: 'bbr2', handshakeTimeout: 5_000 });

    expect(settings.maxIdleTimeout).toBe(30_000);
    expect(settings.ccAlgorithm).toBe('bbr2');
    expect(settings.handshakeTimeout).toBe(5_000);
    expect(settings.initialMaxData).toBe(10_000_000);
  });

  it('should take a field set to undefined as its default', () => {
    expect(resolveQuicSettings({ maxIdleTimeout: undefined }).maxIdleTimeout).toBe(56_000);
  });

  it('should accept resolved settings again', () => {
    const once = resolveQuicSettings({ ticketKey: new Uint8Array(48).fill(7), alpn: ['h3', 'hq-interop'] });

    expect(resolveQuicSettings(once)).toEqual(once);
  });

  it('should freeze the result and copy what the caller may change', () => {
    const alpn = ['h3'];
    const token = new Uint8Array(16).fill(1);
    const settings = resolveQuicSettings({ alpn, statelessResetToken: token });
    alpn.push('h3-29');
    token[0] = 9;

    expect(Object.isFrozen(settings)).toBe(true);
    expect(settings.alpn).toEqual(['h3']);
    expect(settings.statelessResetToken?.[0]).toBe(1);
  });

  it('should accept the bounds of every range', () => {
    expect(() =>
      resolveQuicSettings({
        maxRecvUdpPayloadSize: 1200,
        maxSendUdpPayloadSize: 65_527,
        activeConnectionIdLimit: 2,
        ackDelayExponent: 20,
        maxAckDelay: 2 ** 14 - 1,
        pmtudMaxProbes: 255,
        maxIdleTimeout: 0,
        sendCapacityFactor: 1.5,
        initialRtt: 12.5,
        statelessResetToken: Buffer.alloc(16),
      }),
    ).not.toThrow();
  });

  it.each<[keyof QuicSettings, unknown]>([
    ['alpn', []],
    ['alpn', ['']],
    ['alpn', ['x'.repeat(256)]],
    ['alpn', 'h3'],
    ['enableDgram', 'yes'],
    ['dgramRecvMaxQueueLen', -1],
    ['dgramSendMaxQueueLen', 2 ** 32],
    ['enableEarlyData', 1],
    ['initialMaxData', 1.5],
    ['initialMaxStreamDataBidiLocal', -1],
    ['initialMaxStreamDataBidiRemote', Number.NaN],
    ['initialMaxStreamDataUni', '1000'],
    ['initialMaxStreamsBidi', Number.POSITIVE_INFINITY],
    ['initialMaxStreamsUni', 2 ** 53],
    ['maxIdleTimeout', -1],
    ['disableActiveMigration', null],
    ['activeConnectionIdLimit', 1],
    ['maxRecvUdpPayloadSize', 1199],
    ['maxRecvUdpPayloadSize', 65_528],
    ['maxSendUdpPayloadSize', 1199],
    ['maxSendUdpPayloadSize', 65_528],
    ['disableClientIpValidation', 'false'],
    ['keylogFile', ''],
    ['qlogDir', 42],
    ['qlogCompression', 'brotli'],
    ['ccAlgorithm', 'nope'],
    ['ccAlgorithm', 'bbr'],
    ['initialCongestionWindowPackets', 0],
    ['enableRelaxedLossThreshold', 0],
    ['discoverPathMtu', 'on'],
    ['pmtudMaxProbes', 256],
    ['enableHystart', 'off'],
    ['enablePacing', 'true'],
    ['maxPacingRate', -5],
    ['enableExpensivePacketCountMetrics', 1],
    ['handshakeTimeout', 0],
    ['listenBacklog', 0],
    ['verifyPeer', 'no'],
    ['keyExchangeGroups', []],
    ['keyExchangeGroups', 'X25519'],
    ['keyExchangeGroups', ['X25519:P-256']],
    ['keyExchangeGroups', ['']],
    ['maxConnectionWindow', -1],
    ['maxStreamWindow', 0.5],
    ['enableSendStreamsBlocked', 'x'],
    ['grease', 0],
    ['maxAmplificationFactor', 0],
    ['sendCapacityFactor', 0],
    ['ackDelayExponent', 21],
    ['maxAckDelay', 2 ** 14],
    ['maxPathChallengeRecvQueueLen', -1],
    ['statelessResetToken', new Uint8Array(15)],
    ['statelessResetToken', 'token'],
    ['disableDcidReuse', 'x'],
    ['trackUnknownTransportParameters', -1],
    ['initialRtt', 0],
    ['ticketKey', new Uint8Array(32)],
    ['addressTokenLifetime', 0],
  ])('should refuse %s = %p, naming the setting', (setting, value) => {
    const error = settingsErrorOf(() => resolveQuicSettings({ [setting]: value } as Partial<QuicSettings>));

    expect(error.code).toBe('InvalidSetting');
    expect(error.setting).toBe(setting);
    expect(error.message).toContain(setting);
  });

  it('should refuse an unknown key', () => {
    const error = settingsErrorOf(() => resolveQuicSettings({ maxIdleTimeoutMs: 1 } as Partial<QuicSettings>));

    expect(error.setting).toBe('maxIdleTimeoutMs');
    expect(error.message).toBe('maxIdleTimeoutMs is not a setting');
  });

  it('should refuse settings that are not an object', () => {
    expect(settingsErrorOf(() => resolveQuicSettings(null as unknown as Partial<QuicSettings>)).setting).toBe('settings');
  });

  it('should accept zstd qlog compression only where zlib has Zstandard', () => {
    const hasZstd = typeof (zlib as Record<string, unknown>)['createZstdCompress'] === 'function';
    const resolve = (): unknown => resolveQuicSettings({ qlogCompression: 'zstd' });

    if (hasZstd) {
      expect(resolve).not.toThrow();
    } else {
      expect(settingsErrorOf(resolve).setting).toBe('qlogCompression');
    }
  });
});

/** @test {resolveKeylogFile} */
describe('resolveKeylogFile', () => {
  it('should prefer the setting to SSLKEYLOGFILE', () => {
    expect(resolveKeylogFile({ keylogFile: '/tmp/a.keys' }, { SSLKEYLOGFILE: '/tmp/b.keys' })).toBe('/tmp/a.keys');
  });

  it('should fall back to SSLKEYLOGFILE, ignoring an empty one', () => {
    expect(resolveKeylogFile({}, { SSLKEYLOGFILE: '/tmp/b.keys' })).toBe('/tmp/b.keys');
    expect(resolveKeylogFile({}, { SSLKEYLOGFILE: '' })).toBeUndefined();
    expect(resolveKeylogFile({}, {})).toBeUndefined();
  });
});
