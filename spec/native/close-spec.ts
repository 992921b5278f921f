import { setTimeout as sleep } from 'node:timers/promises';

import { napi } from '../../src/native/binding';
import { NativePair } from '../helpers/nativePair';

/** Fires both ends' timers as they come due until both are closed (the draining period is 3 PTO). */
async function runTimersUntilClosed(pair: NativePair): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(pair.client.isClosed() && pair.server.isClosed())) {
    if (Date.now() > deadline) throw new Error('the connections did not close');
    const waits = [pair.client.timeout(), pair.server.timeout()].filter((t): t is number => t !== null);
    await sleep(Math.max(1, Math.ceil(Math.min(...waits, 50))));
    pair.client.onTimeout();
    pair.server.onTimeout();
  }
}

describe('native connection close', () => {
  it('should deliver an application close with its code and reason to the peer', async () => {
    const pair = NativePair.connect();
    pair.handshake();

    expect(pair.client.close(true, 0x1234, 'going away')).toBe(true);
    // Closing twice is a no-op, not an error.
    expect(pair.client.close(true, 1, 'again')).toBe(false);
    expect(pair.client.localError()).toEqual({ isApp: true, errorCode: 0x1234, reason: 'going away' });
    pair.advance();

    expect(pair.server.peerError()).toEqual({ isApp: true, errorCode: 0x1234, reason: 'going away' });
    expect(pair.server.localError()).toBeNull();
    expect(pair.server.isDraining()).toBe(true);

    await runTimersUntilClosed(pair);
    expect(pair.client.isClosed()).toBe(true);
    expect(pair.server.isClosed()).toBe(true);
    expect(pair.client.isTimedOut()).toBe(false);
  });

  it('should deliver a transport close with its code, and a binary reason', () => {
    const pair = NativePair.connect();
    pair.handshake();

    // PROTOCOL_VIOLATION (0x0a), with a reason given as bytes.
    expect(pair.server.close(false, 0x0a, Buffer.from([0x62, 0x61, 0x64]))).toBe(true);
    pair.advance();

    expect(pair.client.peerError()).toEqual({ isApp: false, errorCode: 0x0a, reason: 'bad' });
    expect(pair.server.localError()).toEqual({ isApp: false, errorCode: 0x0a, reason: 'bad' });
  });

  it('should carry a 62-bit-range code that JavaScript numbers hold exactly', () => {
    const pair = NativePair.connect();
    pair.handshake();
    const code = Number.MAX_SAFE_INTEGER;

    pair.client.close(true, code, '');
    pair.advance();

    expect(pair.server.peerError()?.errorCode).toBe(code);
  });

  it('should refuse a close code JavaScript cannot carry exactly with InvalidArgument', () => {
    const pair = NativePair.connect();
    pair.handshake();

    for (const code of [-1, 1.5, 2 ** 53, Number.NaN]) {
      expect(() => pair.client.close(true, code, '')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
    expect(pair.client.localError()).toBeNull();
  });

  it('should end with ConnectionClosed on every call that needs a live connection', async () => {
    const pair = NativePair.connect();
    pair.handshake();
    pair.client.close(true, 0, '');
    pair.advance();
    await runTimersUntilClosed(pair);

    const closed = expect.objectContaining({ code: 'ConnectionClosed' });
    const conn = pair.client;
    const address = { address: '127.0.0.1', port: 4433 };
    expect(() => conn.recv(new Uint8Array(1200), address, address)).toThrow(closed);
    expect(() => conn.streamSend(0, Buffer.from('x'), false)).toThrow(closed);
    expect(() => conn.streamRecv(0, new Uint8Array(8))).toThrow(closed);
    expect(() => conn.streamShutdown(0, napi.Shutdown.Read, 0)).toThrow(closed);
    expect(() => conn.dgramSend(Buffer.from('x'))).toThrow(closed);
    expect(() => conn.sendAckEliciting()).toThrow(closed);
    expect(() => napi.H3Connection.withTransport(conn, new napi.H3Config())).toThrow(closed);
    // send() has nothing to say on a closed connection: that is a value, not an error.
    expect(conn.send(new Uint8Array(1500), new Uint32Array(4))).toBeNull();
    expect(conn.timeout()).toBeNull();
  });
});
