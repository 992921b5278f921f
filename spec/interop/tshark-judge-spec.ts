/**
 * The tshark cross-check's verdicts (interop/tshark.ts `judge`) on hand-made packet lists: what
 * the runner's checks accept and what they must reject. No tshark needed.
 */
import { type CaseSetup, judge, type QuicPacket } from '../../interop/tshark';

let frame = 0;
function pkt(over: Partial<QuicPacket> & Pick<QuicPacket, 'dir' | 'type'>): QuicPacket {
  frame++;
  return {
    pcap: 0,
    frame,
    t: frame / 1000,
    family: 'IPv4',
    clientEnd: '127.0.0.1:5000',
    datagramBytes: 1200,
    conn: '0:0',
    version: over.type === '1rtt' ? undefined : '0x00000001',
    decrypted: true,
    frameTypes: [],
    streams: [],
    crypto: [],
    tls: [],
    pathChallenges: [],
    pathResponses: [],
    ...over,
  } as QuicPacket;
}

/** One connection: client Initial, server Initial + Handshake (with ALPN), a request and a response. */
function connection(conn: string, scid: string, opts: { cert?: boolean; psk?: boolean; responseBytes?: number } = {}): QuicPacket[] {
  return [
    pkt({ conn, dir: 'toServer', type: 'initial', crypto: [{ offset: 0, length: 300 }], tls: [{ type: 1, cipherSuites: ['0x1301'], extensions: opts.psk ? [41] : [], alpn: [] }] }),
    pkt({ conn, dir: 'toClient', type: 'initial', scid, tls: [{ type: 2, cipherSuites: ['0x1301'], extensions: [], alpn: [] }] }),
    pkt({ conn, dir: 'toClient', type: 'handshake', tls: [{ type: 8, cipherSuites: [], extensions: [], alpn: ['h3'] }, ...(opts.cert ? [{ type: 11, cipherSuites: [], extensions: [], alpn: [] }] : [])] }),
    pkt({ conn, dir: 'toServer', type: '1rtt', streams: [{ id: 0, bytes: 40 }] }),
    pkt({ conn, dir: 'toClient', type: '1rtt', streams: [{ id: 0, bytes: opts.responseBytes ?? 1100 }] }),
  ];
}

const setup = (testCase: string, over: Partial<CaseSetup> = {}): CaseSetup => ({ testCase, handshakes: 1, fileBytes: 1024, files: 1, alpn: 'h3', ...over });

describe('tshark cross-check verdicts', () => {
  it('passes a plain handshake', () => {
    expect(judge(setup('handshake'), connection('0:0', 'aa'))).toMatch(/1 handshake\(s\); ALPN h3/);
  });

  it('fails on a second handshake, a Retry in handshake, a wrong version or ALPN, short data, nothing decrypted', () => {
    expect(() => judge(setup('handshake'), [...connection('0:0', 'aa'), ...connection('0:1', 'bb')])).toThrow(/2 handshake/);
    expect(() => judge(setup('handshake'), [...connection('0:0', 'aa'), pkt({ dir: 'toClient', type: 'retry', decrypted: false })])).toThrow(/Retry/);
    const v2 = connection('0:0', 'aa');
    v2[1]!.version = '0x6b3343cf';
    expect(() => judge(setup('handshake'), v2)).toThrow(/server Initial versions/);
    expect(() => judge(setup('handshake', { alpn: 'hq-interop' }), connection('0:0', 'aa'))).toThrow(/ALPN h3/);
    expect(() => judge(setup('handshake'), connection('0:0', 'aa', { responseBytes: 100 }))).toThrow(/less than the 1024 B/);
    expect(() => judge(setup('handshake'), connection('0:0', 'aa').map((p) => ({ ...p, decrypted: false, streams: [], tls: [] })))).toThrow(/decrypted nothing/);
  });

  it('resumption: Certificate in the 1st handshake only, pre_shared_key in the 2nd ClientHello', () => {
    const s = setup('resumption', { handshakes: 2 });
    expect(judge(s, [...connection('0:0', 'aa', { cert: true }), ...connection('0:1', 'bb', { psk: true })])).toMatch(/2nd without/);
    expect(() => judge(s, [...connection('0:0', 'aa', { cert: true }), ...connection('0:1', 'bb', { cert: true, psk: true })])).toThrow(/sent a Certificate/);
    expect(() => judge(s, [...connection('0:0', 'aa', { cert: true }), ...connection('0:1', 'bb')])).toThrow(/pre_shared_key/);
  });

  it('retry: the next client Initial must carry the token and continue the packet numbers', () => {
    const base = (token: string, pn: number): QuicPacket[] => [
      pkt({ dir: 'toServer', type: 'initial', pn: 0 }),
      pkt({ dir: 'toClient', type: 'retry', retryToken: 'tok', decrypted: false }),
      pkt({ dir: 'toServer', type: 'initial', token, pn }),
      ...connection('0:0', 'aa'),
    ];
    expect(judge(setup('retry'), base('tok', 1))).toMatch(/carries its token/);
    expect(() => judge(setup('retry'), base('other', 1))).toThrow(/token other/);
    expect(() => judge(setup('retry'), base('tok', 0))).toThrow(/reset/);
  });

  it('keyupdate: key phase 1 must appear in both directions', () => {
    const c = connection('0:0', 'aa');
    const up = pkt({ dir: 'toServer', type: '1rtt', keyPhase: 1 });
    const down = pkt({ dir: 'toClient', type: '1rtt', keyPhase: 1 });
    expect(judge(setup('keyupdate'), [...c, up, down])).toMatch(/key phase 1: 1 client packets, 1 server packets/);
    expect(() => judge(setup('keyupdate'), [...c, up])).toThrow(/server 0/);
  });

  it('chacha20: only TLS_CHACHA20_POLY1305_SHA256 offered and chosen', () => {
    const c = connection('0:0', 'aa');
    c[0]!.tls[0]!.cipherSuites = ['0x1303'];
    c[1]!.tls[0]!.cipherSuites = ['0x1303'];
    expect(judge(setup('chacha20'), c)).toMatch(/only TLS_CHACHA20/);
    c[0]!.tls[0]!.cipherSuites = ['0x1303', '0x1301'];
    expect(() => judge(setup('chacha20'), c)).toThrow(/offered/);
  });

  it('zerortt: 0-RTT packets, decrypted, with most requests', () => {
    const s = setup('zerortt', { handshakes: 2, fileBytes: 64 });
    const second = connection('0:1', 'bb', { psk: true, responseBytes: 64 });
    const early = pkt({ conn: '0:1', dir: 'toServer', type: '0rtt', streams: [{ id: 0, bytes: 40 }, { id: 4, bytes: 40 }] });
    expect(judge(s, [...connection('0:0', 'aa', { cert: true }), ...second, early])).toMatch(/1 0-RTT packets, all decrypted/);
    expect(() => judge(s, [...connection('0:0', 'aa', { cert: true }), ...second])).toThrow(/no 0-RTT packet/);
    expect(() => judge(s, [...connection('0:0', 'aa', { cert: true }), ...second, { ...early, decrypted: false }])).toThrow(/not decrypted/);
  });

  it('v2: server Initials and all Handshake packets v2, the client starting with v1', () => {
    const c = connection('0:0', 'aa');
    c[1]!.version = '0x6b3343cf';
    c[2]!.version = '0x6b3343cf';
    expect(judge(setup('v2'), c)).toMatch(/server Initials 0x6b3343cf/);
    expect(() => judge(setup('v2'), connection('0:0', 'aa'))).toThrow(/not upgraded to v2/);
  });
});
