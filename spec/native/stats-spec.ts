import { CLIENT_ADDRESS, NativePair, SERVER_ADDRESS } from '../helpers/nativePair';

describe('native stats and pathStats', () => {
  /** A handshake and a 100 kB upload, fully delivered and acknowledged. */
  function transferred(): NativePair {
    const pair = NativePair.connect({ client: { enableDgram: true }, server: { enableDgram: true } });
    pair.handshake();
    const data = Buffer.alloc(100_000, 7);
    const buf = new Uint8Array(64 * 1024);
    let written = 0;
    let received = 0;
    while (received < data.length) {
      if (written < data.length) written += pair.client.streamSend(0, data.subarray(written), true) ?? 0;
      pair.advance();
      for (let r = pair.server.streamRecv(0, buf); r !== null; r = pair.server.streamRecv(0, buf)) received += r.bytes;
    }
    pair.client.dgramSend(Buffer.from('ping'));
    pair.advance();
    return pair;
  }

  it('should count packets and bytes consistently at both ends of a lossless pair', () => {
    const pair = transferred();
    const client = pair.client.stats();
    const server = pair.server.stats();

    // Nothing is lost in memory: what one side sent, the other received.
    expect(client.sent).toBe(server.recv);
    expect(server.sent).toBe(client.recv);
    expect(client.sentBytes).toBe(server.recvBytes);
    expect(server.sentBytes).toBe(client.recvBytes);
    expect(client.sentBytes).toBeGreaterThan(100_000);
    // At most the last few packets are still unacknowledged.
    expect(client.ackedBytes).toBeGreaterThan(100_000);
    expect(client.ackedBytes).toBeLessThanOrEqual(client.sentBytes);
    for (const s of [client, server]) {
      expect(s).toMatchObject({ lost: 0, lostBytes: 0, retrans: 0, spuriousLost: 0, streamRetransBytes: 0, pathsCount: 1 });
    }
    expect(client.dgramSent).toBe(1);
    expect(server.dgramRecv).toBe(1);
    expect(client.bytesInFlightDurationUs).toBeGreaterThan(0);
  });

  it('should describe the one validated path with a measured RTT and a congestion window', () => {
    const pair = transferred();
    const [client, ...others] = pair.client.pathStats();
    const [server] = pair.server.pathStats();
    expect(others).toEqual([]);

    expect(client).toMatchObject({
      localAddr: { ...CLIENT_ADDRESS, family: 'IPv4' },
      peerAddr: { ...SERVER_ADDRESS, family: 'IPv4' },
      validationState: 'validated',
      active: true,
      lost: 0,
      pmtu: 1350,
      dgramSent: 1,
    });
    expect(server).toMatchObject({
      localAddr: { ...SERVER_ADDRESS, family: 'IPv4' },
      peerAddr: { ...CLIENT_ADDRESS, family: 'IPv4' },
      validationState: 'validated',
      dgramRecv: 1,
    });
    expect(client?.sent).toBe(pair.client.stats().sent);
    expect(client?.sentBytes).toBe(pair.client.stats().sentBytes);

    // In memory the RTT is how long the JavaScript took: positive, well under a second.
    for (const path of [client, server]) {
      expect(path?.rttUs).toBeGreaterThan(0);
      expect(path?.rttUs).toBeLessThan(1_000_000);
      expect(path?.minRttUs).toBeGreaterThan(0);
      expect(path?.minRttUs).toBeLessThanOrEqual(path?.maxRttUs ?? 0);
      expect(path?.rttVarUs).toBeGreaterThanOrEqual(0);
      expect(path?.totalPtoCount).toBe(0);
    }
    // The client's window grew past the initial ten packets during the upload.
    expect(client?.cwnd).toBeGreaterThan(10 * 1350);
    expect(client?.deliveryRate).toBeGreaterThan(0);
    // The batching helpers agree with the path's packet size.
    expect(pair.client.maxSendUdpPayloadSize()).toBe(1350);
    expect(pair.client.sendQuantum()).toBeGreaterThan(0);
  });
});
