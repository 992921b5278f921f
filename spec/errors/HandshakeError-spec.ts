import { HandshakeError, QuicError, QuicTransportError, isHandshakeError } from '../../src/index';

/** @test {HandshakeError} */
describe('HandshakeError', () => {
  it('should describe a timeout', () => {
    const error = new HandshakeError('HandshakeTimeout');

    expect(error.code).toBe('HandshakeTimeout');
    expect(error.message).toBe('the QUIC handshake timed out');
  });

  it('should keep the CONNECTION_CLOSE that ended the handshake as its cause', () => {
    const close = new QuicTransportError({ isApplication: false, errorCode: 0x2, fromPeer: true });
    const error = new HandshakeError('HandshakeConnectionClosed', { cause: close });

    expect(error.code).toBe('HandshakeConnectionClosed');
    expect(error.message).toBe('the connection closed before the QUIC handshake completed');
    expect(error.cause).toBe(close);
  });

  it('should take a message', () => {
    expect(new HandshakeError('HandshakeTimeout', { message: 'no answer in 5 s' }).message).toBe('no answer in 5 s');
  });

  it('should be a QuicError with its own name and guard', () => {
    const error = new HandshakeError('HandshakeTimeout');

    expect(error).toBeInstanceOf(QuicError);
    expect(error.name).toBe('HandshakeError');
    expect(isHandshakeError(error)).toBe(true);
    expect(isHandshakeError(new QuicError('HandshakeTimeout', 'x'))).toBe(false);
  });
});
