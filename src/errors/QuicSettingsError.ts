import { registerErrorClass } from './brand';
import { QuicError, type QuicErrorOptions } from './QuicError';

/**
 * A setting is invalid: out of range, of the wrong type, or in conflict with another setting.
 *
 * It is thrown (or emitted) before anything binds or sends, and retrying with the same settings
 * fails the same way: a caller fixes the configuration.
 *
 * ## Example
 * ```ts
 * throw new QuicSettingsError('maxIdleTimeout', 'maxIdleTimeout must be a non-negative integer (ms)');
 * ```
 */
export class QuicSettingsError extends QuicError {
  /** Always `'InvalidSetting'`. */
  declare readonly code: 'InvalidSetting';
  /** The path of the offending setting, e.g. `'maxIdleTimeout'` or `'http3.qpackMaxTableCapacity'`. */
  readonly setting: string;

  /**
   * @param setting The path of the offending setting.
   * @param message What is wrong with it, and what would be valid.
   * @param options `cause`: the underlying error, if any.
   */
  constructor(setting: string, message: string, options?: QuicErrorOptions) {
    super('InvalidSetting', message, options);
    this.setting = setting;
  }
}

registerErrorClass(QuicSettingsError, 'QuicSettingsError');

/**
 * Tells whether `value` is a {@link QuicSettingsError} (from any copy of this package).
 *
 * @param value Any value, typically a caught error.
 * @returns `true` when `value instanceof QuicSettingsError`.
 */
export function isQuicSettingsError(value: unknown): value is QuicSettingsError {
  return value instanceof QuicSettingsError;
}
