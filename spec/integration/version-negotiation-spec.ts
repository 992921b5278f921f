import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';

import { napi } from '../../src/native/binding';
import { EchoServerApp } from '../helpers/echoApps';
import { bindUdp, closeAll, type LoopbackServer, loopbackParams, startServer, until } from '../helpers/loopback';

/** A reserved ("greased") version no one speaks: 0x?a?a?a?a (RFC 9000 §15). */
const UNKNOWN_VERSION = 0x5a6a7a8a;

/** A long-header Initial of `version` padded to `size` bytes: the QUIC invariants (RFC 8999) and noise. */
function initialOf(version: number, dcid: Buffer, scid: Buffer, size: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0xc0; // long header, fixed bit, type Initial
  head.writeUInt32BE(version, 1);
  const packet = Buffer.concat([head, Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid]);
  return Buffer.concat([packet, randomBytes(size - packet.length)]);
}

describe('version negotiation over loopback', () => {
  it('answers a full-size Initial of an unknown version with the versions it speaks, and a small one not at all', async () => {
    const { server } = loopbackParams();
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let probe: Socket | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      probe = await bindUdp();
      const replies: Buffer[] = [];
      probe.on('message', (buf) => replies.push(buf));
      const send = (d: Buffer): Promise<void> =>
        new Promise((resolve, reject) =>
          probe!.send(d, listener!.address.port, listener!.address.address, (e) => (e ? reject(e) : resolve())),
        );

      // Under 1200 bytes first: answering it would let a tiny spoofed probe reflect a larger reply
      // (RFC 9000 §14.1), so it is dropped and counted. Then a full-size one.
      const small = { dcid: randomBytes(8), scid: randomBytes(8) };
      const full = { dcid: randomBytes(12), scid: randomBytes(6) };
      await send(initialOf(UNKNOWN_VERSION, small.dcid, small.scid, 1_199));
      await send(initialOf(UNKNOWN_VERSION, full.dcid, full.scid, 1_200));
      await until(() => replies.length >= 1, 2_000, 'the version negotiation reply');

      // Datagrams arrive in order on loopback: the first reply answers the full-size Initial.
      const header = napi.parseHeader(replies[0]!, full.scid.length);
      expect(header.type).toBe('versionNegotiation');
      expect(header.version).toBe(0);
      // Addressed back to the client: its SCID as our DCID, and the other way round.
      expect(header.dcid).toEqual(full.scid);
      expect(header.scid).toEqual(full.dcid);
      expect(header.versions).toContain(napi.PROTOCOL_VERSION);
      expect(header.versions).not.toContain(UNKNOWN_VERSION);

      expect(replies).toHaveLength(1);
      expect(listener.metrics.versionNegotiationsSent).toBe(1);
      expect(listener.metrics.rejectedPackets.failedToParse).toBe(1);
      expect(listener.metrics.acceptedInitialPackets).toBe(0);
      expect(listener.listener.ended()).toBe(false);
    } finally {
      if (probe) closeAll(probe);
      listener?.close();
    }
  });
});
