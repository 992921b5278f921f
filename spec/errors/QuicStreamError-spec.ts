import { QuicError, QuicStreamError, isQuicStreamError, type QuicStreamErrorCode } from '../../src/index';

/** @test {QuicStreamError} */
describe('QuicStreamError', () => {
  it('should carry the stream id and the application code of a reset', () => {
    const error = new QuicStreamError('StreamReset', { streamId: 4, applicationCode: 0x10c });

    expect(error.code).toBe('StreamReset');
    expect(error.streamId).toBe(4);
    expect(error.applicationCode).toBe(0x10c);
    expect(error.message).toBe('stream 4 was reset by the peer with application code 0x10c');
  });

  it('should leave the application code undefined when there is none', () => {
    const error = new QuicStreamError('InvalidStreamState', { streamId: 9 });

    expect(error.applicationCode).toBeUndefined();
    expect(error.message).toBe('stream 9 is not in a state that allows this operation');
  });

  it.each<[QuicStreamErrorCode, string]>([
    ['StreamStopped', 'stream 2 was stopped by the peer'],
    ['StreamLimit', "stream 2 cannot be opened: the peer's stream limit is reached"],
    ['FinalSize', 'stream 2 received data beyond its final size'],
  ])('should describe %s', (code, message) => {
    expect(new QuicStreamError(code, { streamId: 2 }).message).toBe(message);
  });

  it('should take a message and a cause', () => {
    const cause = new Error('native');
    const error = new QuicStreamError('StreamStopped', { streamId: 0, message: 'stopped', cause });

    expect(error.message).toBe('stopped');
    expect(error.cause).toBe(cause);
  });

  it('should be a QuicError with its own name and guard', () => {
    const error = new QuicStreamError('FinalSize', { streamId: 0 });

    expect(error).toBeInstanceOf(QuicError);
    expect(error.name).toBe('QuicStreamError');
    expect(isQuicStreamError(error)).toBe(true);
    expect(isQuicStreamError(new QuicError('FinalSize', 'x'))).toBe(false);
  });
});
