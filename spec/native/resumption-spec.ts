import { napi } from '../../src/native/binding';
import {
  NativePair,
  clientConfigOptions,
  serverConfigOptions,
  testCertificates,
  thrown,
} from '../helpers/nativePair';

/** Runs a first connection to completion and returns the session ticket the server issued. */
function firstSession(clientConfig: napi.Config, serverConfig: napi.Config): Buffer {
  const first = NativePair.connect({ clientConfig, serverConfig });
  first.handshake();
  // The server sends NewSessionTicket after the handshake; one more exchange delivers it.
  first.advance();
  const session = first.client.session();
  if (session === null) throw new Error('the first connection yielded no session');
  expect(first.client.isResumed()).toBe(false);
  return session;
}

describe('native resumption and 0-RTT', () => {
  const certs = testCertificates();
  const early = { enableEarlyData: true };

  it('should resume a session and deliver stream data sent as 0-RTT before the handshake completes', () => {
    // Both connections share the server config: its TLS context holds the ticket key.
    const clientConfig = new napi.Config(clientConfigOptions(certs, early));
    const serverConfig = new napi.Config(serverConfigOptions(certs, early));
    const session = firstSession(clientConfig, serverConfig);

    const pair = NativePair.connect({ clientConfig, serverConfig, session });
    // quiche starts the TLS handshake in the first send(): the ClientHello goes out with the
    // session, and from then on the client may write early data.
    expect(pair.client.isInEarlyData()).toBe(false);
    expect(pair.flush(pair.client, pair.server)).toBeGreaterThan(0);
    expect(pair.client.isInEarlyData()).toBe(true);
    expect(pair.client.isEstablished()).toBe(false);
    expect(pair.client.streamSend(0, Buffer.from('early hello'), true)).toBe(11);

    // The 0-RTT packet follows; nothing has come back from the server yet.
    expect(pair.flush(pair.client, pair.server)).toBeGreaterThan(0);
    expect(pair.server.isInEarlyData()).toBe(true);
    expect(pair.server.isEstablished()).toBe(false);
    expect(pair.server.readable()).toEqual([0]);
    const buf = new Uint8Array(64);
    const read = pair.server.streamRecv(0, buf);
    expect(read).toEqual({ bytes: 11, fin: true });
    expect(Buffer.from(buf.subarray(0, 11)).toString()).toBe('early hello');
    // Still reading in early data: the client's Finished has not arrived.
    expect(pair.server.isInEarlyData()).toBe(true);

    pair.handshake();
    expect(pair.client.isResumed()).toBe(true);
    expect(pair.server.isResumed()).toBe(true);
    expect(pair.client.isInEarlyData()).toBe(false);
    // ssl_early_data_accepted (BoringSSL's ssl_early_data_reason_t 2).
    expect(pair.client.earlyDataReason()).toBe(2);
    expect(pair.server.earlyDataReason()).toBe(2);
    // The 0-RTT bytes were acknowledged, not resent in 1-RTT.
    expect(pair.client.stats().retrans).toBe(0);
  });

  it('should fall back to a full handshake when the server cannot decrypt the ticket', () => {
    const clientConfig = new napi.Config(clientConfigOptions(certs, early));
    const session = firstSession(clientConfig, new napi.Config(serverConfigOptions(certs, early)));

    // A new server context has a new random ticket key.
    const pair = NativePair.connect({ clientConfig, serverConfig: new napi.Config(serverConfigOptions(certs, early)), session });
    pair.handshake();

    expect(pair.client.isResumed()).toBe(false);
    expect(pair.server.isResumed()).toBe(false);
    // ssl_early_data_session_not_resumed.
    expect(pair.client.earlyDataReason()).toBe(6);
  });

  it('should resume across server configs that share a ticketKey, rejecting 0-RTT where it is off', () => {
    const ticketKey = Array.from({ length: 48 }, (_, i) => i);
    const clientConfig = new napi.Config(clientConfigOptions(certs, early));
    const session = firstSession(clientConfig, new napi.Config(serverConfigOptions(certs, { ...early, ticketKey })));

    // A "restarted" server with the same ticket key, but without early data.
    const pair = NativePair.connect({ clientConfig, serverConfig: new napi.Config(serverConfigOptions(certs, { ticketKey })), session });
    pair.handshake();

    expect(pair.client.isResumed()).toBe(true);
    expect(pair.server.isResumed()).toBe(true);
    // ssl_early_data_disabled at the server; the client sees its offer declined.
    expect(pair.server.earlyDataReason()).toBe(1);
    expect(pair.client.earlyDataReason()).toBe(4);
  });

  it('should refuse a ticketKey that is not 48 bytes with InvalidSetting', () => {
    expect(thrown(() => new napi.Config({ ticketKey: [1, 2, 3] })).code).toBe('InvalidSetting');
  });
});
