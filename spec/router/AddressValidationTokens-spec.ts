import { AddressValidationTokens } from '../../src/router/AddressValidationTokens';
import { cid } from '../helpers/marbles';

const V4 = { address: '192.0.2.7', port: 50_001 };
const V6 = { address: '2001:db8::7', port: 50_001 };
const ODCID = cid(0x0d, 16);
const KEY = Buffer.alloc(32, 0x42);

/** A clock the spec moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** @test {AddressValidationTokens} */
describe('AddressValidationTokens', () => {
  it.each([
    ['IPv4', V4],
    ['IPv6', V6],
  ])('gives back the original DCID of a token it minted for the same %s address', (_family, peer) => {
    const tokens = new AddressValidationTokens();
    const token = tokens.mint(peer, ODCID);

    expect(Buffer.from(tokens.validate(peer, token)!)).toEqual(ODCID);
  });

  it('accepts the token from another port of the same address (NAT rebinding)', () => {
    const tokens = new AddressValidationTokens();
    const token = tokens.mint(V4, ODCID);

    expect(Buffer.from(tokens.validate({ ...V4, port: 60_000 }, token)!)).toEqual(ODCID);
  });

  it.each([0, 1, 8, 20])('carries an original DCID of %i bytes', (length) => {
    const tokens = new AddressValidationTokens();
    const odcid = cid(0x0d, length);

    expect(Buffer.from(tokens.validate(V4, tokens.mint(V4, odcid))!)).toEqual(odcid);
  });

  it.each([
    ['another IPv4 address', { address: '192.0.2.8', port: 50_001 }],
    ['an IPv6 address', V6],
  ])('refuses a token presented from %s', (_name, other) => {
    const tokens = new AddressValidationTokens();
    const token = tokens.mint(V4, ODCID);

    expect(tokens.validate(other, token)).toBeNull();
  });

  it("refuses a token from an address that extends the minting one, whatever DCID it carries", () => {
    // Without the address's length in the MAC, 10.0.0.1 + a DCID starting with '2' and
    // 10.0.0.12 + the rest of that DCID were the same bytes.
    const tokens = new AddressValidationTokens();
    const odcid = Buffer.concat([Buffer.from('2'), cid(0x0d, 8)]);
    const token = tokens.mint({ address: '10.0.0.1', port: 443 }, odcid);
    const moved = Buffer.concat([token.subarray(0, 40), odcid.subarray(1)]);

    expect(tokens.validate({ address: '10.0.0.12', port: 443 }, moved)).toBeNull();
    expect(Buffer.from(tokens.validate({ address: '10.0.0.1', port: 443 }, token)!)).toEqual(odcid);
  });

  it('refuses a token minted under another key', () => {
    const mine = new AddressValidationTokens(60_000, Date.now, KEY);
    const theirs = new AddressValidationTokens(60_000, Date.now, Buffer.alloc(32, 0x43));

    expect(mine.validate(V4, theirs.mint(V4, ODCID))).toBeNull();
  });

  it('accepts its own tokens across instances that share a key', () => {
    const a = new AddressValidationTokens(60_000, Date.now, KEY);
    const b = new AddressValidationTokens(60_000, Date.now, KEY);

    expect(Buffer.from(b.validate(V4, a.mint(V4, ODCID))!)).toEqual(ODCID);
  });

  it.each([
    ['the expiry', 0],
    ['the MAC', 8 + 5],
    ['the original DCID', 8 + 32 + 3],
  ])('refuses a token with a byte of %s changed', (_part, offset) => {
    const tokens = new AddressValidationTokens();
    const token = tokens.mint(V4, ODCID);
    token[offset] = token[offset]! ^ 0x01;

    expect(tokens.validate(V4, token)).toBeNull();
  });

  it('refuses a token with a longer original DCID appended', () => {
    const tokens = new AddressValidationTokens();
    const token = tokens.mint(V4, ODCID);

    expect(tokens.validate(V4, Buffer.concat([token, Buffer.from([0x0d])]))).toBeNull();
  });

  it.each([
    ['empty', 0],
    ['shorter than expiry and MAC', 39],
  ])('refuses a truncated token (%s)', (_name, length) => {
    const tokens = new AddressValidationTokens();
    const token = tokens.mint(V4, ODCID);

    expect(tokens.validate(V4, token.subarray(0, length))).toBeNull();
  });

  it('refuses a token whose DCID part was cut short', () => {
    const tokens = new AddressValidationTokens();
    const token = tokens.mint(V4, ODCID);

    expect(tokens.validate(V4, token.subarray(0, token.length - 1))).toBeNull();
  });

  it('refuses a token longer than any QUIC v1 DCID allows', () => {
    const tokens = new AddressValidationTokens();

    expect(tokens.validate(V4, Buffer.alloc(8 + 32 + 21))).toBeNull();
  });

  it('accepts a token until its lifetime has passed, then refuses it', () => {
    const clock = fakeClock();
    const tokens = new AddressValidationTokens(10_000, clock.now);
    const token = tokens.mint(V4, ODCID);

    clock.advance(10_000);
    expect(tokens.validate(V4, token)).not.toBeNull();
    clock.advance(1);
    expect(tokens.validate(V4, token)).toBeNull();
  });

  it('reads a token from a view into a larger buffer (the Initial it came in)', () => {
    const tokens = new AddressValidationTokens();
    const token = tokens.mint(V4, ODCID);
    const packet = Buffer.concat([Buffer.alloc(7, 0xff), token, Buffer.alloc(5, 0xff)]);

    expect(Buffer.from(tokens.validate(V4, packet.subarray(7, 7 + token.length))!)).toEqual(ODCID);
  });
});
