/**
 * The network a connecting address speaks for, as a rate-limit key: an IPv4 address as it is, an IPv6
 * address by its /64 prefix. One subscriber, one host, is routinely handed a whole /64 (SLAAC, privacy
 * addresses rotate inside it), so keying each IPv6 address apart would give a single client 2^64 keys
 * and no limit at all. An IPv4-mapped address (`::ffff:192.0.2.1`) is its IPv4 address. Anything that
 * does not parse is keyed as given (Cloudflare's edge sets `cf-connecting-ip`; it is always an address).
 */
export function clientNetwork(address: string): string {
  const text = address.trim().toLowerCase();
  if (!text.includes(':')) return text;
  const groups = ipv6Groups(text);
  if (!groups) return text;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

const GROUP = /^[0-9a-f]{1,4}$/;
const IPV4_TAIL = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail converted), or undefined. */
function ipv6Groups(text: string): number[] | undefined {
  const address = text.split('%')[0] ?? ''; // a zone id (`fe80::1%eth0`) names an interface, not a host
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (half: string | undefined): number[] | undefined => {
    if (!half) return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (const [index, part] of parts.entries()) {
      const ipv4 = index === parts.length - 1 ? IPV4_TAIL.exec(part) : null;
      if (ipv4) {
        const octets = ipv4.slice(1).map(Number);
        if (octets.some((octet) => octet > 255)) return undefined;
        const [a = 0, b = 0, c = 0, d = 0] = octets;
        out.push((a << 8) | b, (c << 8) | d);
      } else if (GROUP.test(part)) out.push(Number.parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}
