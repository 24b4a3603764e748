import ipaddr from 'ipaddr.js';

/** An address range in canonical form: host bits cleared, IPv4-mapped IPv6 written as IPv4. */
export interface IpRange {
  family: 4 | 6;
  bits: number;
  /** "10.0.0.0/8", "2001:db8::/32": what is stored and compared (as PostgreSQL's cidr). */
  text: string;
}

/**
 * The canonical range of an address or CIDR range ("10.1.2.3" is "10.1.2.3/32"), or null if the
 * input is neither. "::ffff:10.0.0.0/104" is "10.0.0.0/8": a client on a dual-stack socket is
 * matched as the IPv4 address it is, so its range must be compared as one too, or two accounts
 * could hold the same addresses under two spellings. A zone ("fe80::1%eth0") names an interface
 * of one host, not an address range, and is refused.
 */
export function parseRange(input: string): IpRange | null {
  const [addressPart = '', bitsPart, ...rest] = input.trim().split('/');
  if (addressPart.includes('%') || rest.length > 0) return null;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  let bits: number;
  try {
    address = ipaddr.parse(addressPart);
    bits = bitsPart === undefined ? (address.kind() === 'ipv4' ? 32 : 128) : ipaddr.parseCIDR(`${addressPart}/${bitsPart}`)[1];
  } catch {
    return null;
  }
  // IPv4 as four decimal parts only: "10.60.0", "127.1" or "0x7f.0.0.1" (inet_aton's forms,
  // which ipaddr.js takes) would claim addresses the writer may not have meant.
  if (address.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(addressPart)) return null;
  if (address.kind() === 'ipv6' && bits >= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
  }
  const network = ipaddr.fromByteArray(networkBytes(address.toByteArray(), bits));
  return { family: network.kind() === 'ipv4' ? 4 : 6, bits, text: `${network.toString()}/${bits}` };
}

function networkBytes(bytes: number[], bits: number): number[] {
  return bytes.map((byte, index) => {
    const keep = Math.max(0, Math.min(8, bits - index * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}
