import { headerValue, statusHeaders, toH3Headers } from '../../src/http3/H3Headers';

/** @test {toH3Headers} */
describe('H3Headers', () => {
  it('should turn a record into a list, lowercased, pseudo-header fields first, arrays repeated', () => {
    expect(toH3Headers({ 'Content-Type': 'text/plain', ':path': '/', 'set-cookie': ['a=1', 'b=2'], 'x-n': 5, 'x-skip': undefined })).toEqual([
      { name: ':path', value: '/' },
      { name: 'content-type', value: 'text/plain' },
      { name: 'set-cookie', value: 'a=1' },
      { name: 'set-cookie', value: 'b=2' },
      { name: 'x-n', value: '5' },
    ]);
  });

  it('should keep a list in order, moving pseudo-header fields first', () => {
    expect(toH3Headers([{ name: 'a', value: '1' }, { name: ':status', value: '200' }])).toEqual([
      { name: ':status', value: '200' },
      { name: 'a', value: '1' },
    ]);
    expect(toH3Headers(undefined)).toEqual([]);
  });

  it('should find a value case-insensitively', () => {
    expect(headerValue([{ name: 'etag', value: 'x' }], 'ETag')).toBe('x');
    expect(headerValue([], 'etag')).toBeUndefined();
  });

  it('should put :status first and drop any other :status', () => {
    expect(statusHeaders(204, { ':status': '500', a: 'b' })).toEqual([
      { name: ':status', value: '204' },
      { name: 'a', value: 'b' },
    ]);
  });
});
