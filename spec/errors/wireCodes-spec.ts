import { h3ErrorName, transportErrorName } from '../../src/index';

/** @test {transportErrorName} */
describe('transportErrorName', () => {
  it.each([
    [0x00, 'NO_ERROR'],
    [0x01, 'INTERNAL_ERROR'],
    [0x03, 'FLOW_CONTROL_ERROR'],
    [0x0a, 'PROTOCOL_VIOLATION'],
    [0x0d, 'CRYPTO_BUFFER_EXCEEDED'],
    [0x10, 'NO_VIABLE_PATH'],
    [0x11, 'VERSION_NEGOTIATION_ERROR'],
  ])('should name %d as %s', (code, name) => {
    expect(transportErrorName(code)).toBe(name);
  });

  it('should name the whole CRYPTO_ERROR range', () => {
    expect(transportErrorName(0x100)).toBe('CRYPTO_ERROR');
    expect(transportErrorName(0x12a)).toBe('CRYPTO_ERROR');
    expect(transportErrorName(0x1ff)).toBe('CRYPTO_ERROR');
    expect(transportErrorName(0x200)).toBe('0x200');
  });

  it('should print unregistered codes in hexadecimal', () => {
    expect(transportErrorName(0x12)).toBe('0x12');
    expect(transportErrorName(0xff)).toBe('0xff');
    expect(transportErrorName(-1)).toBe('-1');
  });
});

/** @test {h3ErrorName} */
describe('h3ErrorName', () => {
  it.each([
    [0x100, 'H3_NO_ERROR'],
    [0x101, 'H3_GENERAL_PROTOCOL_ERROR'],
    [0x107, 'H3_EXCESSIVE_LOAD'],
    [0x10a, 'H3_MISSING_SETTINGS'],
    [0x10c, 'H3_REQUEST_CANCELLED'],
    [0x110, 'H3_VERSION_FALLBACK'],
    [0x200, 'QPACK_DECOMPRESSION_FAILED'],
    [0x201, 'QPACK_ENCODER_STREAM_ERROR'],
    [0x202, 'QPACK_DECODER_STREAM_ERROR'],
  ])('should name %d as %s', (code, name) => {
    expect(h3ErrorName(code)).toBe(name);
  });

  it('should print unregistered and reserved codes in hexadecimal', () => {
    expect(h3ErrorName(0x111)).toBe('0x111');
    expect(h3ErrorName(0x21)).toBe('0x21');
    expect(h3ErrorName(0)).toBe('0x0');
  });
});
