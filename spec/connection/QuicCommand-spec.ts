import { executeQuicCommand } from '../../src/connection/QuicCommand';
import type { QuicConnectionStats } from '../../src/connection/QuicConnectionStats';
import type { SocketStats } from '../../src/connection/SocketStats';
import { NativePair } from '../helpers/nativePair';

/** @test {executeQuicCommand} */
describe('executeQuicCommand on a real connection', () => {
  let pair: NativePair;

  beforeEach(() => {
    pair = NativePair.connect();
    pair.handshake();
    pair.client.streamSend(0, new Uint8Array(5000), true);
    pair.advance();
  });

  it('hands live stats in tokio-quiche SocketStats shape to a stats command', () => {
    let got: SocketStats | undefined;
    executeQuicCommand({ type: 'stats', callback: (s) => (got = s) }, pair.client);
    const stats = pair.client.stats();
    const path = pair.client.pathStats()[0]!;
    expect(got).toMatchObject({
      pmtu: path.pmtu,
      cwnd: path.cwnd,
      rttUs: path.rttUs,
      packetsSent: stats.sent,
      packetsRecvd: stats.recv,
      bytesSent: stats.sentBytes,
      bytesRecvd: stats.recvBytes,
      bytesRetrans: stats.streamRetransBytes,
      bytesUnsent: 0,
    });
    expect(got!.bytesSent).toBeGreaterThan(5000);
  });

  it('hands a connection stats snapshot with the first path to a connectionStats command', () => {
    let got: QuicConnectionStats | undefined;
    executeQuicCommand({ type: 'connectionStats', callback: (s) => (got = s) }, pair.server);
    expect(got!.stats.recvBytes).toBe(pair.server.stats().recvBytes);
    expect(got!.pathStats!.peerAddr).toEqual(pair.server.pathStats()[0]!.peerAddr);
  });

  it('closes with the given behaviour, and a second close is ignored', () => {
    executeQuicCommand({ type: 'connectionClose', behaviour: { sendApplicationClose: true, errorCode: 42, reason: 'bye' } }, pair.client);
    executeQuicCommand({ type: 'connectionClose', behaviour: { sendApplicationClose: false, errorCode: 1 } }, pair.client);
    pair.advance();
    expect(pair.server.peerError()).toEqual({ isApp: true, errorCode: 42, reason: 'bye' });
  });

  it('runs custom code on the connection', () => {
    let id = -1;
    executeQuicCommand({ type: 'custom', run: (q) => (id = q.traceId().length) }, pair.client);
    expect(id).toBeGreaterThan(0);
  });
});
