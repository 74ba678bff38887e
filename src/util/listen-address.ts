/** Where a listener binds: an IP literal (IPv6 without brackets) or `localhost`, and a port. */
export interface ListenAddress { host: string; port: number }

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Parses a listen address, the one syntax of every `listen` setting (pillar, sys-net and logs
 * configs, `--listen`). Rules: `IPv4:PORT`, `[IPv6]:PORT` or `localhost:PORT`; IPv4 octets are
 * 0-255; an IPv6 literal is hex digits and colons (an embedded IPv4 tail allowed) with at most
 * one `::` and at most 8 groups; the port is a decimal 0-65535 (0 = any free port). Host names
 * are refused: a listener binds an address, and what a name resolves to can change. Throws an
 * Error whose message is the problem, for the caller to prefix.
 */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text)} is not IPv4:PORT, [IPv6]:PORT or localhost:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port ${port} is above 65535`);
  if (m[1] !== undefined) {
    if (!isIPv6Literal(m[1])) throw new Error(`[${m[1]}] is not an IPv6 address`);
    return { host: m[1], port };
  }
  const host = m[2]!;
  if (host === 'localhost') return { host, port };
  const v4 = IPV4.exec(host);
  if (!v4 || !v4.slice(1).every((o) => Number(o) <= 255)) throw new Error(`${JSON.stringify(host)} is not an IPv4 address or localhost`);
  return { host, port };
}

function isIPv6Literal(s: string): boolean {
  let body = s;
  let maxGroups = 8;
  const lastColon = s.lastIndexOf(':');
  // An embedded IPv4 tail (`::ffff:127.0.0.1`) stands for two groups.
  if (lastColon >= 0 && IPV4.test(s.slice(lastColon + 1))) {
    const v4 = IPV4.exec(s.slice(lastColon + 1))!;
    if (!v4.slice(1).every((o) => Number(o) <= 255)) return false;
    body = s.slice(0, lastColon + 1) + '0';
    maxGroups = 7;
  }
  if (!/^[0-9A-Fa-f:]+$/.test(body) || body.includes(':::') || body.split('::').length > 2) return false;
  const groups = body.split(':');
  if (groups.some((g) => g.length > 4)) return false;
  if (body.includes('::')) return groups.filter((g) => g !== '').length < maxGroups;
  return groups.length === maxGroups && groups.every((g) => g !== '');
}

/** A loopback address (127.0.0.0/8, ::1, localhost): reachable from this qube only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
