import { randomBytes } from 'node:crypto';

import { EchoClientApp, EchoServerApp } from '../helpers/echoApps';
import { type LoopbackClient, type LoopbackServer, loopbackParams, startClient, startServer, within } from '../helpers/loopback';

// DESIGN.md: "unsubscribing from a connection closes it (with a CONNECTION_CLOSE, not by vanishing)".
describe('unsubscribing from a connection over loopback', () => {
  let listener: LoopbackServer<EchoServerApp> | undefined;
  let dialer: LoopbackClient<EchoClientApp> | undefined;

  afterEach(() => {
    dialer?.close();
    listener?.close();
    dialer = undefined;
    listener = undefined;
  });

  async function connected(): Promise<void> {
    const { server, client } = loopbackParams();
    listener = await startServer(server, () => new EchoServerApp());
    const message = randomBytes(500);
    dialer = await startClient(listener.address, client, new EchoClientApp(message, false));
    expect(await within(dialer.app.echoed, 2_000, 'the echo')).toEqual(message);
  }

  it("sends a CONNECTION_CLOSE from the client that ends the server's connection", async () => {
    await connected();
    const accepted = await listener!.connection(0);
    const handle = await dialer!.conn.first;

    dialer!.conn.subscription.unsubscribe();

    // The server hears it at once (its idle timeout is 56 s) and ends cleanly after quiche's
    // draining period (3 PTOs, RFC 9000 §10.2.2).
    expect(await within(accepted.conn.outcome, 3_000, 'the server side to end')).toEqual({ ok: true });
    expect(await within(accepted.app.closed, 100, "the server app's onConnClose")).toEqual({ ok: true });
    expect(accepted.app.calls.onConnClose).toBe(1);
    expect(accepted.app.qconn!.peerError()).toEqual({ isApp: true, errorCode: 0, reason: '' });
    expect(accepted.app.qconn!.isTimedOut()).toBe(false);
    // The client's side: its application was told, and the handle settled.
    expect(dialer!.app.closeResult).toEqual({ ok: true });
    await expect(handle.result).resolves.toEqual({ ok: true });
    expect(dialer!.app.qconn!.localError()).toEqual({ isApp: true, errorCode: 0, reason: '' });
    expect(dialer!.metrics.connectionsInMemory).toBe(0);
  });

  it("sends a CONNECTION_CLOSE from the server that ends the client's connection", async () => {
    await connected();
    const accepted = await listener!.connection(0);

    accepted.conn.subscription.unsubscribe();

    expect(await within(dialer!.conn.outcome, 3_000, 'the client side to end')).toEqual({ ok: true });
    expect(dialer!.app.closeResult).toEqual({ ok: true });
    expect(dialer!.app.qconn!.peerError()).toEqual({ isApp: true, errorCode: 0, reason: '' });
    expect(accepted.app.closeResult).toEqual({ ok: true });
    expect(listener!.metrics.connectionsInMemory).toBe(0);
  });
});
