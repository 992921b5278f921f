import { randomBytes, randomInt } from 'node:crypto';
import type { Socket } from 'node:dgram';

import { napi } from '../../src/native/binding';
import { createNativeConfig } from '../../src/settings/toNativeConfig';
import { EchoServerApp, StreamClientApp } from '../helpers/echoApps';
import {
  bindUdp,
  closeAll,
  type LoopbackClient,
  type LoopbackServer,
  loopbackParams,
  sleep,
  startClient,
  startServer,
  until,
  within,
} from '../helpers/loopback';

/**
 * Sends `datagrams` from `socket` to `to` in bursts of 25, each once `received()` shows the last
 * burst arrived, so the kernel never drops any for a full receive buffer.
 */
async function spray(
  socket: Socket,
  to: { address: string; port: number },
  datagrams: Buffer[],
  received: () => number,
): Promise<void> {
  for (let i = 0; i < datagrams.length; i += 25) {
    const burst = datagrams.slice(i, i + 25);
    await Promise.all(
      burst.map((d) => new Promise<void>((resolve, reject) => socket.send(d, to.port, to.address, (e) => (e ? reject(e) : resolve())))),
    );
    await until(() => received() >= i + burst.length, 2_000, `burst ${i / 25} at the listener`);
  }
}

/** A copy of `datagram` with `flips` random bytes changed, none before `from`. */
function corrupt(datagram: Buffer, from: number, flips = 4): Buffer {
  const copy = Buffer.from(datagram);
  for (let i = 0; i < flips; i++) {
    const at = randomInt(from, copy.length);
    copy[at] = copy[at]! ^ (1 + randomInt(255));
  }
  return copy;
}

describe('bad input at a listener over loopback', () => {
  it('drops and counts junk, truncated and corrupted datagrams while a real connection goes on', async () => {
    const { server, client } = loopbackParams();
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let dialer: LoopbackClient<StreamClientApp> | undefined;
    let sprayer: Socket | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      // Room for the spray and the echo's own traffic at once: a datagram the kernel drops for a
      // full buffer would go uncounted.
      listener.socket.setRecvBufferSize(4 * 1024 * 1024);
      sprayer = await bindUdp();
      const sprayerPort = sprayer.address().port;
      // Every datagram the server receives from the real client, to corrupt copies of, and how
      // many from the sprayer arrived.
      const real: Buffer[] = [];
      let sprayed = 0;
      listener.socket.on('message', (buf, rinfo) => {
        if (rinfo.port === sprayerPort) sprayed++;
        else real.push(Buffer.from(buf));
      });
      dialer = await startClient(listener.address, client, new StreamClientApp());
      const warmUp = randomBytes(20_000);
      expect(await within(dialer.app.request(warmUp), 2_000, 'the first echo')).toEqual(warmUp);
      const clientPackets = real.filter((d) => (d[0]! & 0x80) === 0);
      expect(clientPackets.length).toBeGreaterThan(0);

      // A real client Initial of another, never-completed connection: a v1 long header with
      // a fresh DCID, to truncate and corrupt.
      const stranger = napi.Connection.connect(
        'localhost',
        randomBytes(20),
        { address: '127.0.0.1', port: 9 },
        listener.address,
        createNativeConfig(client, 'client'),
      );
      const out = new Uint8Array(65536);
      const lengths = new Uint32Array(64);
      const batch = stranger.send(out, lengths, false)!;
      const initial = Buffer.from(out.subarray(0, lengths[0]!));
      // Long header (1) + version (4) + DCID length (1) + DCID (20) + SCID length (1) + SCID (20).
      const initialHeader = 47;
      expect(batch.count).toBeGreaterThanOrEqual(1);

      const before = listener.metrics.snapshot();
      const truncated = 400;
      // Datagrams no connection owns: each must be dropped and counted, or answered statelessly.
      const junk = [
        ...Array.from({ length: 1_500 }, () => randomBytes(randomInt(0, 1_501))),
        ...Array.from({ length: 300 }, () => randomBytes(randomInt(1_200, 1_501))),
        ...Array.from({ length: truncated }, () => initial.subarray(0, randomInt(0, initial.length))),
        // Corrupted anywhere, and corrupted past an intact header (those get a Retry, statelessly).
        ...Array.from({ length: 150 }, () => corrupt(initial, 0)),
        ...Array.from({ length: 150 }, () => corrupt(initial, initialHeader)),
      ].map((d) => Buffer.from(d));
      // Corrupted copies of the live connection's own packets: routed to it, and dropped by quiche.
      const forged = Array.from({ length: 500 }, () => corrupt(clientPackets[randomInt(clientPackets.length)]!, 21));

      const echo = dialer.app.request(randomBytes(200_000));
      await spray(sprayer, listener.address, [...junk, ...forged].sort(() => Math.random() - 0.5), () => sprayed);
      const reply = await within(echo, 3_000, 'the echo during the spray');
      expect(reply).toHaveLength(200_000);
      await sleep(50);

      const after = listener.metrics.snapshot();
      const rejected = (m: typeof after): number => Object.values(m.rejectedPackets).reduce((a, b) => a + b, 0);
      // Every junk datagram is accounted for: dropped and counted, or answered with version
      // negotiation (unknown versions, full size) or a Retry (a corrupted Initial whose header survived).
      const answered =
        after.versionNegotiationsSent - before.versionNegotiationsSent + (after.retriesSent - before.retriesSent);
      expect(rejected(after) - rejected(before) + answered).toBe(junk.length);
      // Among them at least every truncated Initial (short of a full Initial, or of a header).
      expect(after.rejectedPackets.failedToParse - before.rejectedPackets.failedToParse).toBeGreaterThanOrEqual(truncated);
      // None of it became a connection, and the real one is untouched.
      expect(after.acceptedInitialPackets).toBe(1);
      expect(listener.listener.ended()).toBe(false);
      const accepted = await listener.connection(0);
      expect(accepted.conn.ended()).toBe(false);
      // The forged copies came from another address, yet opened no path: quiche could not decrypt them.
      expect(accepted.app.qconn!.pathStats().map((p) => p.peerAddr.port)).toEqual([dialer.socket.address().port]);
      expect(dialer.conn.ended()).toBe(false);
      const last = randomBytes(5_000);
      expect(await within(dialer.app.request(last), 2_000, 'an echo after the spray')).toEqual(last);
    } finally {
      dialer?.close();
      listener?.close();
      if (sprayer) closeAll(sprayer);
    }
  });
});
