import { Http3Error, QuicError, isHttp3Error } from '../../src/index';

/** @test {Http3Error} */
describe('Http3Error', () => {
  it('should carry the h3 error name as its code', () => {
    const error = new Http3Error('ExcessiveLoad');

    expect(error.code).toBe('ExcessiveLoad');
    expect(error.wireCode).toBeUndefined();
    expect(error.message).toBe('HTTP/3 error ExcessiveLoad');
  });

  it('should carry the wire code and name it in the message', () => {
    const error = new Http3Error('FrameUnexpected', { wireCode: 0x105 });

    expect(error.wireCode).toBe(0x105);
    expect(error.message).toBe('HTTP/3 error FrameUnexpected (H3_FRAME_UNEXPECTED)');
  });

  it('should take a message and a cause', () => {
    const cause = new Error('native');
    const error = new Http3Error('MessageError', { message: 'bad header', cause });

    expect(error.message).toBe('bad header');
    expect(error.cause).toBe(cause);
  });

  it('should be a QuicError with its own name and guard', () => {
    const error = new Http3Error('IdError');

    expect(error).toBeInstanceOf(QuicError);
    expect(error.name).toBe('Http3Error');
    expect(isHttp3Error(error)).toBe(true);
    expect(isHttp3Error(new QuicError('IdError', 'x'))).toBe(false);
  });
});
