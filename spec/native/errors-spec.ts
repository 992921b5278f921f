import { Http3Error } from '../../src/errors/Http3Error';
import { QuicError } from '../../src/errors/QuicError';
import { QuicSettingsError } from '../../src/errors/QuicSettingsError';
import { QuicStreamError } from '../../src/errors/QuicStreamError';
import { napi } from '../../src/native/binding';
import { callNative, fromNativeError } from '../../src/native/errors';

/**
 * Runs `fn`, which must throw, and returns what it threw.
 */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw');
}

/**
 * An error shaped like the addon's: a plain `Error` with a `code`.
 */
function nativeLike(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

// A client connection that has sent nothing yet: enough to get stream and HTTP/3 errors from quiche.
function newClientConnection(): napi.Connection {
  const config = new napi.Config({ alpn: ['h3'], verifyPeer: false });
  const local = { address: '127.0.0.1', port: 40_001 };
  const peer = { address: '127.0.0.1', port: 40_002 };
  return napi.Connection.connect('localhost', Buffer.alloc(16, 1), local, peer, config);
}

/** @test {fromNativeError} */
describe('fromNativeError', () => {
  describe('with errors thrown by the addon', () => {
    it('should map InvalidSetting to a QuicSettingsError naming the option', () => {
      const native = thrownBy(() => new napi.Config({ ccAlgorithm: 'nope' }));
      const error = fromNativeError(native);

      expect(error).toBeInstanceOf(QuicSettingsError);
      expect(error.code).toBe('InvalidSetting');
      expect((error as QuicSettingsError).setting).toBe('ccAlgorithm');
      expect(error.cause).toBe(native);
    });

    it('should name the option of a non-integer value in camelCase', () => {
      const error = fromNativeError(thrownBy(() => new napi.Config({ initialMaxData: 1.5 })));

      expect((error as QuicSettingsError).setting).toBe('initialMaxData');
    });

    it('should keep InvalidPem as a QuicError with its code and message', () => {
      const native = thrownBy(() => new napi.Config({ certChain: 'x', privateKey: 'y' }));
      const error = fromNativeError(native);

      expect(error).toBeInstanceOf(QuicError);
      expect(error.constructor).toBe(QuicError);
      expect(error.code).toBe('InvalidPem');
      expect(error.message).toBe((native as Error).message);
      expect(error.cause).toBe(native);
    });

    it('should keep CertificateFile for a missing certificate file', () => {
      const error = fromNativeError(
        thrownBy(() => new napi.Config({ certChainFile: '/nonexistent/cert.pem', privateKeyFile: '/nonexistent/key.pem' })),
      );

      expect(error.code).toBe('CertificateFile');
    });

    it("should keep quiche's BufferTooShort for a datagram too short to parse", () => {
      const error = fromNativeError(thrownBy(() => napi.parseHeader(Buffer.from([1, 2, 3]), 16)));

      expect(error.constructor).toBe(QuicError);
      expect(error.code).toBe('BufferTooShort');
    });

    it('should map a stream error to a QuicStreamError with the stream id', () => {
      const conn = newClientConnection();
      const native = thrownBy(() => conn.streamRecv(8, Buffer.alloc(16)));
      const error = fromNativeError(native);

      expect(error).toBeInstanceOf(QuicStreamError);
      expect(error.code).toBe('InvalidStreamState');
      expect((error as QuicStreamError).streamId).toBe(8);
      expect((error as QuicStreamError).applicationCode).toBeUndefined();
      expect(error.cause).toBe(native);
    });

    it('should map an HTTP/3 error to an Http3Error with the wire code', () => {
      const conn = newClientConnection();
      const error = fromNativeError(thrownBy(() => napi.H3Connection.withTransport(conn, new napi.H3Config())));

      expect(error).toBeInstanceOf(Http3Error);
      expect(error.code).toBe('InternalError');
      expect((error as Http3Error).wireCode).toBe(0x102);
    });

    it('should keep ConnectionClosed and InvalidArgument', () => {
      const conn = newClientConnection();
      conn.close(true, 0, 'done');
      const local = { address: 'not an address', port: 1 };

      expect(fromNativeError(thrownBy(() => conn.streamSend(0, Buffer.alloc(1), false))).code).toBe('ConnectionClosed');
      expect(
        fromNativeError(thrownBy(() => napi.Connection.connect('x', Buffer.alloc(16), local, local, new napi.Config()))).code,
      ).toBe('InvalidArgument');
    });

    it("should map napi's own argument checks to InvalidArgument", () => {
      const native = thrownBy(() => new napi.Config({ initialMaxData: 'many' as unknown as number }));
      const error = fromNativeError(native);

      expect((native as { code: string }).code).toBe('NumberExpected');
      expect(error.constructor).toBe(QuicError);
      expect(error.code).toBe('InvalidArgument');
      expect(error.cause).toBe(native);
    });
  });

  describe('with the key=value data of native messages', () => {
    it('should read the application code of a reset stream', () => {
      const error = fromNativeError(
        nativeLike('StreamReset', 'StreamReset: the peer reset the stream (errorCode=268) (streamId=4)'),
      ) as QuicStreamError;

      expect(error).toBeInstanceOf(QuicStreamError);
      expect(error.streamId).toBe(4);
      expect(error.applicationCode).toBe(268);
      expect(error.message).toBe('stream 4 was reset by the peer with application code 0x10c');
    });

    it('should read the application code of a stopped stream', () => {
      const error = fromNativeError(
        nativeLike('StreamStopped', 'StreamStopped: the peer asked to stop sending on the stream (errorCode=0) (streamId=2)'),
      ) as QuicStreamError;

      expect(error.code).toBe('StreamStopped');
      expect(error.streamId).toBe(2);
      expect(error.applicationCode).toBe(0);
    });

    it('should keep a stream code without a stream id as a plain QuicError', () => {
      const error = fromNativeError(nativeLike('StreamLimit', 'StreamLimit: StreamLimit'));

      expect(error.constructor).toBe(QuicError);
      expect(error.code).toBe('StreamLimit');
    });

    it('should read the wire code of an HTTP/3 error, and drop a zero one', () => {
      const excessive = fromNativeError(nativeLike('ExcessiveLoad', 'ExcessiveLoad: excessive load (wireCode=263)'));
      const blocked = fromNativeError(nativeLike('StreamBlocked', 'StreamBlocked: blocked (wireCode=0) (streamId=0)'));

      expect((excessive as Http3Error).wireCode).toBe(0x107);
      expect(blocked).toBeInstanceOf(Http3Error);
      expect((blocked as Http3Error).wireCode).toBeUndefined();
    });
  });

  describe('with values that are not native errors', () => {
    it('should return a QuicError unchanged', () => {
      const error = new QuicError('TlsFail', 'tls');

      expect(fromNativeError(error)).toBe(error);
    });

    it('should map an Error without a known code to InvalidArgument', () => {
      const type = new TypeError('not a function');
      const odd = nativeLike('Done', 'Done');

      expect(fromNativeError(type).code).toBe('InvalidArgument');
      expect(fromNativeError(type).cause).toBe(type);
      expect(fromNativeError(odd).code).toBe('InvalidArgument');
    });

    it('should map a thrown non-error to InvalidArgument', () => {
      const error = fromNativeError('boom');

      expect(error.code).toBe('InvalidArgument');
      expect(error.message).toContain('boom');
      expect(error.cause).toBe('boom');
    });
  });
});

/** @test {callNative} */
describe('callNative', () => {
  it('should return what the call returns', () => {
    expect(callNative(() => napi.encodeVarint(37))).toEqual(Buffer.from([37]));
  });

  it('should rethrow a native error typed', () => {
    const error = thrownBy(() => callNative(() => new napi.Config({ ackDelayExponent: 21 })));

    expect(error).toBeInstanceOf(QuicSettingsError);
    expect((error as QuicSettingsError).setting).toBe('ackDelayExponent');
  });
});
