import { QuicError, QuicTransportError, isQuicTransportError } from '../../src/index';

/** @test {QuicTransportError} */
describe('QuicTransportError', () => {
  it('should keep the fields of the CONNECTION_CLOSE frame', () => {
    const error = new QuicTransportError({ isApplication: false, errorCode: 0x3, reason: 'too much', fromPeer: true });

    expect(error.isApplication).toBe(false);
    expect(error.errorCode).toBe(0x3);
    expect(error.reason).toBe('too much');
    expect(error.fromPeer).toBe(true);
  });

  it('should default the code to ConnectionClosed for a transport close', () => {
    const error = new QuicTransportError({ isApplication: false, errorCode: 0xa, fromPeer: true });

    expect(error.code).toBe('ConnectionClosed');
    expect(error.reason).toBe('');
    expect(error.message).toBe('peer closed the connection: PROTOCOL_VIOLATION (0xa)');
  });

  it('should default the code to ApplicationError for an application close', () => {
    const error = new QuicTransportError({ isApplication: true, errorCode: 0x10c, reason: 'bye', fromPeer: false });

    expect(error.code).toBe('ApplicationError');
    expect(error.message).toBe('local endpoint closed the connection: application error 0x10c: bye');
  });

  it('should name a CRYPTO_ERROR in its message', () => {
    const error = new QuicTransportError({ isApplication: false, errorCode: 0x12a, fromPeer: true });

    expect(error.message).toBe('peer closed the connection: CRYPTO_ERROR (0x12a)');
  });

  it('should take a more precise code, a message and a cause', () => {
    const cause = new Error('native');
    const error = new QuicTransportError({
      isApplication: false,
      errorCode: 0x128,
      fromPeer: false,
      code: 'TlsFail',
      message: 'certificate rejected',
      cause,
    });

    expect(error.code).toBe('TlsFail');
    expect(error.message).toBe('certificate rejected');
    expect(error.cause).toBe(cause);
  });

  it('should not leak the init object onto the error', () => {
    const error = new QuicTransportError({ isApplication: false, errorCode: 0, fromPeer: true, message: 'm' });

    expect(Object.keys(error).sort()).toEqual(['code', 'errorCode', 'fromPeer', 'isApplication', 'reason']);
  });

  it('should be a QuicError with its own name and guard', () => {
    const error = new QuicTransportError({ isApplication: false, errorCode: 0, fromPeer: true });

    expect(error).toBeInstanceOf(QuicError);
    expect(error.name).toBe('QuicTransportError');
    expect(isQuicTransportError(error)).toBe(true);
    expect(isQuicTransportError(new QuicError('ConnectionClosed', 'x'))).toBe(false);
  });
});
