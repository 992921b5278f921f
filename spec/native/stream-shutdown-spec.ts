import { napi } from '../../src/native/binding';
import { NativePair, thrown } from '../helpers/nativePair';

describe('native stream reset and stop-sending', () => {
  it('should surface the peer\'s RESET_STREAM as a StreamReset error carrying its code', () => {
    const pair = NativePair.connect();
    pair.handshake();
    pair.client.streamSend(0, Buffer.from('partial'), false);
    pair.advance();
    const buf = new Uint8Array(64);
    expect(pair.server.streamRecv(0, buf)).toEqual({ bytes: 7, fin: false });

    const code = 2 ** 40 + 5; // beyond 32 bits, to prove the code is not truncated
    expect(pair.client.streamShutdown(0, napi.Shutdown.Write, code)).toBe(true);
    pair.advance();

    expect(pair.server.readable()).toContain(0);
    const error = thrown(() => pair.server.streamRecv(0, buf));
    expect(error.code).toBe('StreamReset');
    expect(error.message).toContain(`errorCode=${code}`);
    expect(error.message).toContain('streamId=0');
    expect(pair.client.stats().resetStreamCountLocal).toBe(1);
    expect(pair.server.stats().resetStreamCountRemote).toBe(1);
  });

  it('should surface the peer\'s STOP_SENDING as a StreamStopped error carrying its code', () => {
    const pair = NativePair.connect();
    pair.handshake();
    pair.client.streamSend(4, Buffer.from('first'), false);
    pair.advance();
    pair.server.streamRecv(4, new Uint8Array(64));

    expect(pair.server.streamShutdown(4, napi.Shutdown.Read, 77)).toBe(true);
    pair.advance();

    const error = thrown(() => pair.client.streamSend(4, Buffer.from('more'), false));
    expect(error.code).toBe('StreamStopped');
    expect(error.message).toContain('errorCode=77');
    expect(error.message).toContain('streamId=4');
    expect(pair.server.stats().stoppedStreamCountLocal).toBe(1);
    expect(pair.client.stats().stoppedStreamCountRemote).toBe(1);
  });

  it('should let the server reset its half of a client stream', () => {
    const pair = NativePair.connect();
    pair.handshake();
    pair.client.streamSend(8, Buffer.from('request'), true);
    pair.advance();
    pair.server.streamRecv(8, new Uint8Array(64));
    pair.server.streamSend(8, Buffer.from('half a resp'), false);
    pair.advance();
    pair.client.streamRecv(8, new Uint8Array(64));

    pair.server.streamShutdown(8, napi.Shutdown.Write, 0x10c);
    pair.advance();

    const error = thrown(() => pair.client.streamRecv(8, new Uint8Array(64)));
    expect(error.code).toBe('StreamReset');
    expect(error.message).toContain(`errorCode=${0x10c}`);
  });

  it('should report false for a second shutdown of the same side', () => {
    const pair = NativePair.connect();
    pair.handshake();
    pair.client.streamSend(0, Buffer.from('x'), false);

    expect(pair.client.streamShutdown(0, napi.Shutdown.Write, 1)).toBe(true);
    expect(pair.client.streamShutdown(0, napi.Shutdown.Write, 1)).toBe(false);
  });
});
