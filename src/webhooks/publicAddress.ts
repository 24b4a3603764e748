import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Whether an IP address is one a public receiver can have, for the SSRF check (ssrf.ts). The
 * ranges are data, from the IANA special-purpose address registries (RFC 6890 and later).
 *
 * An IPv6 address can carry an IPv4 address that a translator, a tunnel or the operating system
 * will really connect to (::ffff:127.0.0.1 is 127.0.0.1 to a dual-stack socket; 2002:7f00:1::
 * is tunnelled to 127.0.0.1 by a 6to4 relay), so each such form is judged by every IPv4 address
 * it carries as well. Anything that is not a plain, canonical address (an IPv4 in octal or hex,
 * a zone index) is not public: what a connection would make of it is not what was checked.
 */

type V4Range = readonly [network: string, prefix: number, name: string];

const IPV4_NOT_PUBLIC: readonly V4Range[] = [
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  // Includes 255.255.255.255, the limited broadcast address.
  ['240.0.0.0', 4, 'reserved'],
];

/**
 * Non-public IPv6 ranges inside global unicast (2000::/3); everything outside 2000::/3 that
 * carries no IPv4 address (loopback, unique local fc00::/7, link-local, site-local fec0::/10,
 * multicast, discard 100::/64, SRv6 5f00::/16, unassigned space) is refused as not global.
 * 2001::/32 (Teredo) and 2002::/16 (6to4) are judged by the IPv4 addresses they carry, before this.
 */
const IPV6_GLOBAL_NOT_PUBLIC: readonly V4Range[] = [
  // IETF protocol assignments: benchmarking 2001:2::/48, ORCHID 2001:10::/28, ORCHIDv2 2001:20::/28, ...
  ['2001::', 23, 'IETF protocol assignments'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
];

const parsedV4 = IPV4_NOT_PUBLIC.map(([network, prefix, name]) => ({ range: [ipaddr.IPv4.parse(network), prefix] as [ipaddr.IPv4, number], name }));
const parsedV6 = IPV6_GLOBAL_NOT_PUBLIC.map(([network, prefix, name]) => ({ range: [ipaddr.IPv6.parse(network), prefix] as [ipaddr.IPv6, number], name }));

/** Why an address is not public, or null when it is. */
export function nonPublicReason(address: string): string | null {
  // node:net's isIP takes only canonical dotted-decimal IPv4 and RFC 4291 IPv6, as connect() does.
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  if (address.includes('%')) return `${address} has a zone index (link-local)`;
  return family === 4 ? ipv4Reason(ipaddr.IPv4.parse(address)) : ipv6Reason(ipaddr.IPv6.parse(address));
}

export function isPublicAddress(address: string): boolean {
  return nonPublicReason(address) === null;
}

function ipv4Reason(address: ipaddr.IPv4): string | null {
  const hit = parsedV4.find(({ range }) => address.match(range));
  return hit ? `${address.toString()} is a ${hit.name} address` : null;
}

/** The IPv4 address in two 16-bit words. */
function v4(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** The reason an IPv4 address carried in an IPv6 one is not public, naming both. */
function carried(address: ipaddr.IPv6, form: string, inside: ipaddr.IPv4): string | null {
  const reason = ipv4Reason(inside);
  return reason ? `${address.toString()} is ${form} for ${inside.toString()}, and ${reason}` : null;
}

function zero(words: readonly number[], from: number, to: number): boolean {
  return words.slice(from, to).every((word) => word === 0);
}

function ipv6Reason(address: ipaddr.IPv6): string | null {
  const w = address.parts;
  const text = address.toString();
  if (zero(w, 0, 8)) return `${text} is the unspecified address`;
  if (zero(w, 0, 7) && w[7] === 1) return `${text} is the loopback address`;
  // IPv4-mapped ::ffff:0:0/96 (a dual-stack socket connects over IPv4).
  if (zero(w, 0, 5) && w[5] === 0xffff) return carried(address, 'IPv4-mapped', v4(w[6]!, w[7]!));
  // IPv4-compatible ::/96 (deprecated, RFC 4291 2.5.5.1).
  if (zero(w, 0, 6)) return carried(address, 'IPv4-compatible', v4(w[6]!, w[7]!));
  // IPv4-translated ::ffff:0:0:0/96 (RFC 2765 SIIT).
  if (zero(w, 0, 4) && w[4] === 0xffff && w[5] === 0) return carried(address, 'IPv4-translated', v4(w[6]!, w[7]!));
  if (w[0] === 0x64 && w[1] === 0xff9b) {
    // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052), and the local-use 64:ff9b:1::/48 (RFC 8215)
    // when used as a /96 too; a longer local-use prefix puts the IPv4 address elsewhere (RFC 6052
    // 2.2), which cannot be told from the address, so it is refused.
    if (zero(w, 2, 6)) return carried(address, 'NAT64', v4(w[6]!, w[7]!));
    if (w[2] === 1 && zero(w, 3, 6)) return carried(address, 'NAT64 (local use)', v4(w[6]!, w[7]!));
    return `${text} is a NAT64 address whose IPv4 address cannot be told`;
  }
  if ((w[0]! & 0xe000) !== 0x2000) return `${text} is not a global unicast address (${address.range()})`;
  // 6to4 2002::/16: the relay tunnels to the IPv4 address in bits 16-48.
  if (w[0] === 0x2002) return carried(address, '6to4', v4(w[1]!, w[2]!));
  // Teredo 2001::/32: the server in bits 32-64, the client in the last 32 bits, inverted.
  if (w[0] === 0x2001 && w[1] === 0) {
    return carried(address, 'Teredo (server)', v4(w[2]!, w[3]!)) ?? carried(address, 'Teredo (client)', v4(~w[6]! & 0xffff, ~w[7]! & 0xffff));
  }
  const hit = parsedV6.find(({ range }) => address.match(range));
  return hit ? `${text} is a ${hit.name} address` : null;
}
