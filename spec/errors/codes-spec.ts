import { H3_ERROR_NAMES, OWN_ERROR_CODES, QUICHE_ERROR_NAMES, QUIC_ERROR_CODES, isQuicErrorCode } from '../../src/index';

describe('error codes', () => {
  it('should list every quiche transport error except Done', () => {
    expect(QUICHE_ERROR_NAMES).toHaveLength(22);
    expect(QUICHE_ERROR_NAMES).toContain('StreamReset');
    expect(QUICHE_ERROR_NAMES).toContain('InvalidDcidInitialization');
    expect(QUICHE_ERROR_NAMES).not.toContain('Done');
  });

  it('should list every quiche HTTP/3 error except Done, BufferTooShort and TransportError', () => {
    expect(H3_ERROR_NAMES).toHaveLength(17);
    expect(H3_ERROR_NAMES).toContain('ExcessiveLoad');
    expect(H3_ERROR_NAMES).not.toContain('Done');
    expect(H3_ERROR_NAMES).not.toContain('TransportError');
  });

  it('should have no duplicate codes', () => {
    expect(new Set(QUIC_ERROR_CODES).size).toBe(QUIC_ERROR_CODES.length);
    expect(QUIC_ERROR_CODES).toHaveLength(QUICHE_ERROR_NAMES.length + H3_ERROR_NAMES.length + OWN_ERROR_CODES.length);
  });

  /** @test {isQuicErrorCode} */
  describe('isQuicErrorCode', () => {
    it('should accept every listed code', () => {
      for (const code of QUIC_ERROR_CODES) expect(isQuicErrorCode(code)).toBe(true);
    });

    it('should reject Done, unknown strings and non-strings', () => {
      for (const value of ['Done', 'TransportError', 'streamreset', '', 42, null, undefined, {}]) {
        expect(isQuicErrorCode(value)).toBe(false);
      }
    });
  });
});
