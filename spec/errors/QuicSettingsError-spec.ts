import { QuicError, QuicSettingsError, isQuicSettingsError } from '../../src/index';

/** @test {QuicSettingsError} */
describe('QuicSettingsError', () => {
  it('should name the offending setting', () => {
    const error = new QuicSettingsError('maxIdleTimeout', 'maxIdleTimeout must be a non-negative integer');

    expect(error.code).toBe('InvalidSetting');
    expect(error.setting).toBe('maxIdleTimeout');
    expect(error.message).toBe('maxIdleTimeout must be a non-negative integer');
  });

  it('should be a QuicError with its own name and guard', () => {
    const error = new QuicSettingsError('x', 'y');

    expect(error).toBeInstanceOf(QuicError);
    expect(error.name).toBe('QuicSettingsError');
    expect(isQuicSettingsError(error)).toBe(true);
    expect(isQuicSettingsError(new QuicError('InvalidSetting', 'x'))).toBe(false);
  });
});
