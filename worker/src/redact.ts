/**
 * An error text without what it may carry of the request that failed: Upstash's client appends the
 * whole command (`…, command was: ["get","rx:v1:<site>:…"]`, keys and values included), and a
 * connection error may carry credentials in a URL (`mongodb+srv://user:password@host`). Used for
 * what `/healthz` (public) shows and what the logs keep.
 */
export function redactSecrets(text: string): string {
  return text.replace(/,?\s*command was:[\s\S]*$/i, '').replace(/(\w+:\/\/)[^/@\s]*@/g, '$1…@');
}

/**
 * A public text without the network addresses it names: `host:port` (a dotted name or IPv4 address,
 * `localhost`, or a bracketed IPv6 address; a name without a dot is left, so that a time like 10:12 is
 * not taken for one), and the name after a DNS failure code. The MongoDB driver's connection errors
 * name the server (`connection 3 to cluster0-shard-00-01.abcde.mongodb.net:27017 closed`), and a
 * MongoDB reachable from Workers is open to the internet: its address on a public page is a target
 * for guessing its password. The log keeps the addresses; `/healthz` shows `<host>`.
 */
export function redactAddresses(text: string): string {
  return text.replace(HOST_AND_PORT, '<host>').replace(DNS_FAILURE, '$1 <host>');
}

const HOST_AND_PORT = /(?:\[[0-9A-Fa-f:.]+\]|\blocalhost|\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):\d{1,5}\b/g;

/**
 * A DNS failure as Node and workerd word it, `<syscall> <code> <name>`: `getaddrinfo ENOTFOUND host`,
 * and every code of a lookup by record type (`querySrv ECONNREFUSED _mongodb._tcp.cluster0…`, and
 * workerd's own `querySRV EBADRESP …` / `EBADQUERY` when its DNS over HTTPS gets no answer). Before,
 * only ENOTFOUND and EAI_AGAIN were matched, so an SRV lookup that failed otherwise named the cluster.
 */
const DNS_FAILURE = /\b((?:getaddrinfo|getnameinfo|query[A-Za-z]*)\s+E[A-Z_]+|ENOTFOUND|EAI_AGAIN)\s+\S+/g;
