import {
  HandshakeError,
  Http3Error,
  QuicError,
  QuicSettingsError,
  QuicStreamError,
  QuicTransportError,
  isQuicError,
} from '../../src/index';
import { loadSecondCopy } from '../helpers/loadSecondCopy';

/** @test {QuicError} */
describe('QuicError', () => {
  it('should carry a stable code and a message', () => {
    const error = new QuicError('TlsFail', 'TLS handshake failed');

    expect(error.code).toBe('TlsFail');
    expect(error.message).toBe('TLS handshake failed');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(QuicError);
  });

  it('should be named after its class, on the prototype and in the stack', () => {
    const error = new QuicError('InvalidArgument', 'bad');

    expect(error.name).toBe('QuicError');
    expect(Object.keys(error)).not.toContain('name');
    expect(error.stack?.split('\n')[0]).toBe('QuicError: bad');
    expect(String(error)).toBe('QuicError: bad');
  });

  it('should keep the cause when one is given', () => {
    const cause = Object.assign(new Error('native'), { code: 'TlsFail' });
    const error = new QuicError('TlsFail', 'TLS handshake failed', { cause });

    expect(error.cause).toBe(cause);
  });

  it('should have no cause property when none is given', () => {
    expect('cause' in new QuicError('InvalidState', 'x')).toBe(false);
    expect('cause' in new QuicError('InvalidState', 'x', {})).toBe(false);
  });

  it('should show the code when logged', () => {
    expect(Object.keys(new QuicError('SocketError', 'x'))).toEqual(['code']);
  });

  describe('instanceof', () => {
    it('should hold for every subclass', () => {
      const errors = [
        new QuicTransportError({ isApplication: false, errorCode: 0, fromPeer: true }),
        new QuicStreamError('StreamReset', { streamId: 0 }),
        new HandshakeError('HandshakeTimeout'),
        new QuicSettingsError('maxIdleTimeout', 'negative'),
        new Http3Error('FrameUnexpected'),
      ];

      for (const error of errors) {
        expect(error instanceof QuicError).toBe(true);
        expect(error instanceof Error).toBe(true);
        expect(isQuicError(error)).toBe(true);
      }
    });

    it('should not confuse sibling classes or a base instance with a subclass', () => {
      const stream = new QuicStreamError('StreamStopped', { streamId: 4 });
      const base = new QuicError('StreamStopped', 'x');

      expect(stream instanceof HandshakeError).toBe(false);
      expect(stream instanceof QuicTransportError).toBe(false);
      expect(base instanceof QuicStreamError).toBe(false);
    });

    it('should be false for plain errors and non-objects', () => {
      for (const value of [new Error('x'), { code: 'TlsFail' }, 'TlsFail', 42, null, undefined]) {
        expect(value instanceof QuicError).toBe(false);
        expect(isQuicError(value)).toBe(false);
      }
    });

    it('should hold across two copies of the package (Symbol.for brand)', () => {
      const copy = loadSecondCopy();
      expect(copy.QuicError).not.toBe(QuicError);

      const fromCopy = new copy.QuicStreamError('StreamReset', { streamId: 8, applicationCode: 1 });
      const local = new QuicTransportError({ isApplication: true, errorCode: 0x10c, fromPeer: true });

      expect(fromCopy instanceof QuicError).toBe(true);
      expect(fromCopy instanceof QuicStreamError).toBe(true);
      expect(fromCopy instanceof QuicTransportError).toBe(false);
      expect(isQuicError(fromCopy)).toBe(true);
      expect(local instanceof copy.QuicError).toBe(true);
      expect(local instanceof copy.QuicTransportError).toBe(true);
      expect(copy.isQuicError(local)).toBe(true);
    });

    it('should use the ordinary prototype check for a user subclass', () => {
      class MyProtocolError extends QuicError {}
      const mine = new MyProtocolError('ApplicationError', 'mine');
      const other = new QuicError('ApplicationError', 'other');

      expect(mine instanceof MyProtocolError).toBe(true);
      expect(mine instanceof QuicError).toBe(true);
      expect(other instanceof MyProtocolError).toBe(false);
      expect(new QuicStreamError('StreamReset', { streamId: 0 }) instanceof MyProtocolError).toBe(false);
    });
  });
});
