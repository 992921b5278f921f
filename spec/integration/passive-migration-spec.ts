import { randomBytes } from 'node:crypto';

import { EchoServerApp, StreamClientApp } from '../helpers/echoApps';
import { type LoopbackClient, type LoopbackServer, loopbackParams, sleep, startClient, startServer, until, within } from '../helpers/loopback';
import { NatRebinder } from '../helpers/natRebinder';

// tokio-quiche: migration::test_passive_migration.
describe('passive migration (NAT rebinding) over loopback', () => {
  it('keeps the connection when the client suddenly sends from a new port', async () => {
    const { server, client } = loopbackParams({ activeConnectionIdLimit: 2, disableActiveMigration: true });
    let listener: LoopbackServer<EchoServerApp> | undefined;
    let nat: NatRebinder | undefined;
    let dialer: LoopbackClient<StreamClientApp> | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      nat = await NatRebinder.start(listener.address);
      dialer = await startClient(nat.address, client, new StreamClientApp());

      const first = randomBytes(1_500);
      expect(await within(dialer.app.request(first), 2_000, 'the first echo')).toEqual(first);
      const accepted = await listener.connection(0);
      const serverConn = accepted.app.qconn!;
      expect(serverConn.pathStats().map((p) => p.peerAddr.port)).toEqual([nat.outsidePorts[0]]);

      // Let the client's last ACKs go out on the old port, so the first packet from the new port
      // is the full-size one of the next request: the server's PATH_CHALLENGE then fits in the
      // anti-amplification allowance at full size, and one challenge validates the path.
      await sleep(100);
      await nat.rebind();
      const second = randomBytes(1_500);
      expect(await within(dialer.app.request(second), 2_000, 'the echo after rebinding')).toEqual(second);

      // The server moved to the new address and validates it; the client only answers a challenge.
      const activePath = () => serverConn.pathStats().filter((p) => p.active);
      expect(activePath().map((p) => p.peerAddr.port)).toEqual([nat.outsidePorts[1]]);
      await until(() => activePath()[0]?.validationState === 'validated', 1_000, 'the new path to be validated');
      expect(dialer.app.qconn!.stats().pathChallengeRxCount).toBe(1);
      expect(accepted.conn.ended()).toBe(false);
      expect(dialer.conn.ended()).toBe(false);
    } finally {
      dialer?.close();
      nat?.close();
      listener?.close();
    }
  });
});
