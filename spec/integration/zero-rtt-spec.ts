import { randomBytes } from 'node:crypto';

import type { HandshakeInfo } from '../../src/connection/HandshakeInfo';
import type { QuicheConnection } from '../../src/native/binding';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import { EchoServerApp, StreamClientApp } from '../helpers/echoApps';
import {
  type LoopbackClient,
  type LoopbackServer,
  loopbackParams,
  startClient,
  startServer,
  until,
  within,
} from '../helpers/loopback';

/** A client that writes its queued requests as soon as it can: in early data, when resuming. */
class EarlyClientApp extends StreamClientApp {
  override onConnEstablished(qconn: QuicheConnection, info: HandshakeInfo): void {
    super.onConnEstablished(qconn, info);
    this.flushRequests(qconn);
  }
}

/**
 * Connects once to get a session ticket, then resumes it with a client that writes a request in
 * early data, and checks that the server application read it while in early data.
 */
async function resumeWithEarlyRequest(disableClientIpValidation: boolean): Promise<void> {
  const { server, client, certs } = loopbackParams(
    { enableEarlyData: true, disableClientIpValidation },
    { enableEarlyData: true },
  );
  let listener: LoopbackServer<EchoServerApp> | undefined;
  const dialers: LoopbackClient<StreamClientApp>[] = [];
  try {
    listener = await startServer(server, () => new EchoServerApp());

    // A first, full handshake leaves the client with a session ticket.
    const first = await startClient(listener.address, client, new StreamClientApp());
    dialers.push(first);
    const hello = randomBytes(100);
    expect(await within(first.app.request(hello), 2_000, 'the first echo')).toEqual(hello);
    await until(() => first.app.qconn!.session() !== null, 1_000, 'a session ticket');
    const session = first.app.qconn!.session()!;
    expect(first.app.establishedInEarlyData).toBe(false);
    first.conn.subscription.unsubscribe();

    // The second resumes it and sends its request in 0-RTT packets, before the handshake completes.
    const resumed = ConnectionParams.newClient({ alpn: ['echo'], enableEarlyData: true }, undefined, {}, {
      trust: { ca: certs.ca },
      session,
    });
    const early = new EarlyClientApp();
    const message = randomBytes(1_000);
    const echo = early.request(message);
    const second = await startClient(listener.address, resumed, early);
    dialers.push(second);
    expect(await within(echo, 2_000, 'the early echo')).toEqual(message);

    expect(early.establishedInEarlyData).toBe(true);
    expect(early.requestsInEarlyData).toBe(1);
    expect(early.qconn!.isResumed()).toBe(true);
    const accepted = await listener.connection(1);
    // The server application started in early data (onConnEstablished) and read the request there.
    expect(accepted.app.establishedInEarlyData).toBe(true);
    expect(accepted.app.earlyDataBytes).toBe(message.length);
    expect(accepted.app.qconn!.isResumed()).toBe(true);
  } finally {
    for (const d of dialers) d.close();
    listener?.close();
  }
}

// tokio-quiche: zero_rtt::handle_0_rtt_request.
describe('0-RTT over loopback', () => {
  it('delivers early stream data to the server application in early data, without Retry', async () => {
    await resumeWithEarlyRequest(true);
  });

  // Fails: with address validation on, the server answers the resumed client's first flight with
  // a Retry and drops the 0-RTT packets that came with it (no connection owns their DCID yet).
  // quiche 0.30 then neither declares those 0-RTT packets lost nor sends their data again as
  // 0-RTT after the Retry (RFC 9000 §17.2.5.3 allows it): the data waits in flight until the
  // handshake completes and arrives as 1-RTT. Fixing it needs quiche to requeue 0-RTT data on
  // Retry (native/), or a server that skips Retry for resumed clients (NEW_TOKEN, which quiche
  // does not implement).
  it.failing('delivers early stream data to the server application in early data, through a Retry', async () => {
    await resumeWithEarlyRequest(false);
  });
});
