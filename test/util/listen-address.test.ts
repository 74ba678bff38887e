import { describe, expect, it } from 'vitest';
import { isLoopback, parseListenAddress } from '../../src/util/listen-address.js';

describe('parseListenAddress (every listen setting)', () => {
  it('takes IPv4:PORT, [IPv6]:PORT and localhost:PORT, port 0-65535', () => {
    expect(parseListenAddress('127.0.0.1:8420')).toEqual({ host: '127.0.0.1', port: 8420 });
    expect(parseListenAddress('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListenAddress('255.255.255.255:65535')).toEqual({ host: '255.255.255.255', port: 65535 });
    for (const v6 of ['::1', '::', 'fe80::1', '2001:db8:0:0:0:0:0:1', '2001:db8::8a2e:370:7334', '::ffff:127.0.0.1', '1:2:3:4:5:6:7:8']) {
      expect(parseListenAddress(`[${v6}]:443`), v6).toEqual({ host: v6, port: 443 });
    }
  });

  it('refuses everything else with the problem as its message', () => {
    const bad: [string, RegExp][] = [
      ['8080', /is not IPv4:PORT/], ['', /is not IPv4:PORT/], [':80', /"" is not an IPv4 address/],
      ['127.0.0.1', /is not IPv4:PORT/], ['127.0.0.1:', /is not IPv4:PORT/], ['127.0.0.1:123456', /is not IPv4:PORT/],
      ['127.0.0.1:65536', /port 65536 is above 65535/], ['256.0.0.1:80', /not an IPv4 address/], ['1.2.3:80', /not an IPv4 address/],
      ['example.org:80', /not an IPv4 address or localhost/], ['a b:80', /not an IPv4 address/], ['::1:80', /is not IPv4:PORT/],
      ['[::1::2]:80', /not an IPv6 address/], ['[1:2:3:4:5:6:7:8:9]:80', /not an IPv6 address/], ['[12345::1]:80', /not an IPv6 address/],
      ['[:::1]:80', /not an IPv6 address/], ['[::ffff:999.0.0.1]:80', /not an IPv6 address/], ['[localhost]:80', /not an IPv6 address/],
      ['127.0.0.1:80 ', /is not IPv4:PORT/], ['127.0.0.1:-1', /is not IPv4:PORT/],
    ];
    for (const [text, why] of bad) expect(() => parseListenAddress(text), text).toThrow(why);
  });

  it('tells loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.137.0.5', '::', '128.0.0.1']) expect(isLoopback(h), h).toBe(false);
  });
});
