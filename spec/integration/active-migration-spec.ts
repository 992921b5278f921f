import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';

import type { QuicConnection } from '../../src/connection/QuicConnection';
import { connectWithConfig$ } from '../../src/router/connectWithConfig';
import { toSocketAddress } from '../../src/socket/fromUdpSocket';
import { EchoServerApp, StreamClientApp } from '../helpers/echoApps';
import {
  bindUdp,
  closeAll,
  type LoopbackServer,
  loopbackParams,
  sleep,
  startServer,
  until,
  type Watched,
  watch,
  within,
} from '../helpers/loopback';
import { twoAddressSocket } from '../helpers/twoAddressSocket';

// tokio-quiche: migration::test_active_migration.
describe('active migration over loopback', () => {
  it('moves the connection to a new client address with migrateSource and keeps it going', async () => {
    const { server, client } = loopbackParams({ activeConnectionIdLimit: 2, disableActiveMigration: false });
    let listener: LoopbackServer<EchoServerApp> | undefined;
    const sockets: Socket[] = [];
    let conn: Watched<QuicConnection> | undefined;
    try {
      listener = await startServer(server, () => new EchoServerApp());
      const [home, away] = [await bindUdp(), await bindUdp()];
      sockets.push(home, away);
      const app = new StreamClientApp();
      conn = watch(connectWithConfig$(twoAddressSocket(home, away), 'localhost', client, app, { peer: listener.address }));

      const first = randomBytes(1_500);
      expect(await within(app.request(first), 2_000, 'the first echo')).toEqual(first);
      const accepted = await listener.connection(0);
      const serverConn = accepted.app.qconn!;
      // Each side has a spare connection ID from the other: quiche needs both to move.
      await until(
        () => app.qconn!.availableDcids() > 0 && serverConn.availableDcids() > 0,
        1_000,
        'spare connection IDs on both sides',
      );
      // Let the client's last ACKs go out from the old address, so that the first packet from the
      // new one is a full-size request packet and one PATH_CHALLENGE validates the path.
      await sleep(50);

      const awayAddress = toSocketAddress(away.address());
      app.command({ type: 'custom', run: (qconn) => qconn.migrateSource(awayAddress) });
      const second = randomBytes(1_500);
      expect(await within(app.request(second), 2_000, 'the echo after migrating')).toEqual(second);

      // The server now talks to the new address, validated, on the same connection.
      const activePath = () => serverConn.pathStats().filter((p) => p.active);
      expect(activePath().map((p) => p.peerAddr.port)).toEqual([awayAddress.port]);
      await until(() => activePath()[0]?.validationState === 'validated', 1_000, 'the new path to be validated');
      expect(app.qconn!.stats().pathChallengeRxCount).toBe(1);
      expect(accepted.conn.ended()).toBe(false);
      expect(conn.ended()).toBe(false);
    } finally {
      conn?.subscription.unsubscribe();
      closeAll(...sockets);
      listener?.close();
    }
  });
});
