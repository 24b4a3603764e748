import dns2 from 'dns2';

const { Packet } = dns2;

/** What the test's DNS server knows about one name. */
export interface ZoneEntry {
  MX?: { exchange: string; priority: number }[];
  A?: string[];
  AAAA?: string[];
  /**
   * One record per item. A string longer than 255 octets is sent as several character-strings
   * of 255, as DNS providers store a long DKIM key; an array gives the strings explicitly.
   */
  TXT?: (string | string[])[];
  /** This name is an alias: CNAME questions get the target; other questions the CNAME, then the target's records when the zone has them. */
  CNAME?: string;
  /** Answer every question for this name with this error instead. */
  rcode?: 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';
  /** Never answer (a resolver time-out). */
  silent?: boolean;
}

export type Zone = Record<string, ZoneEntry>;

/** RFC 1035 response codes (dns2 has them as Packet.RCODE, but its type declarations leave them out). */
const RCODES = { SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export interface TestDnsServer {
  /** `127.0.0.1:port`, the value for MAILROOM_DNS_SERVERS. */
  address: string;
  port: number;
  /** Mutable: tests may change records while the server runs. */
  zone: Zone;
  /** Every question asked, as `TYPE name`. */
  queries: string[];
  close(): Promise<void>;
}

const TYPE_NAMES: Record<number, keyof ZoneEntry> = {
  [Packet.TYPE.MX]: 'MX', [Packet.TYPE.A]: 'A', [Packet.TYPE.AAAA]: 'AAAA', [Packet.TYPE.TXT]: 'TXT', [Packet.TYPE.CNAME]: 'CNAME',
};

/** A TXT record's character-strings: each at most 255 octets (the length is one octet on the wire). */
function characterStrings(data: string | string[]): string[] {
  if (Array.isArray(data)) return data;
  const bytes = Buffer.from(data, 'utf8');
  if (bytes.length <= 255) return [data];
  const strings: string[] = [];
  for (let i = 0; i < bytes.length; i += 255) strings.push(bytes.subarray(i, i + 255).toString('utf8'));
  return strings;
}

/**
 * A real DNS server (the npm dns2 package, UDP and TCP on one loopback port) answering from a
 * zone the test writes: names it does not know are NXDOMAIN, known names without the asked type
 * answer NOERROR with no records (NODATA), as a real authoritative server would.
 */
export async function startDnsServer(zone: Zone = {}): Promise<TestDnsServer> {
  const queries: string[] = [];
  const handle: dns2.DnsHandler = (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      if (!question) return void send(response);
      const name = question.name.toLowerCase().replace(/\.$/, '');
      const typeName = TYPE_NAMES[question.type] ?? `TYPE${question.type}`;
      queries.push(`${typeName} ${name}`);
      let entry = zone[name];
      if (entry?.silent) return;
      if (!entry || entry.rcode) {
        response.header.rcode = RCODES[entry?.rcode ?? 'NXDOMAIN'];
        return void send(response);
      }
      // dns2's Resource type describes decoded records; plain objects encode the same way.
      let owner = question.name;
      const add = (record: Record<string, unknown>) => response.answers.push({ name: owner, class: Packet.CLASS.IN, ttl: 60, ...record } as unknown as dns2.Packet.Resource);
      // An alias answers with itself, then (for other types) with its target's records, as a
      // recursive resolver would; chains are followed a few steps.
      for (let hops = 0; entry?.CNAME && hops < 8; hops++) {
        add({ type: Packet.TYPE.CNAME, domain: entry.CNAME });
        if (question.type === Packet.TYPE.CNAME) return void send(response);
        owner = entry.CNAME;
        entry = zone[entry.CNAME.toLowerCase().replace(/\.$/, '')];
      }
      if (!entry || entry.silent || entry.rcode) return void send(response);
      if (question.type === Packet.TYPE.MX) {
        for (const mx of entry.MX ?? []) add({ type: Packet.TYPE.MX, exchange: mx.exchange, priority: mx.priority });
      } else if (question.type === Packet.TYPE.A) {
        for (const address of entry.A ?? []) add({ type: Packet.TYPE.A, address });
      } else if (question.type === Packet.TYPE.AAAA) {
        for (const address of entry.AAAA ?? []) add({ type: Packet.TYPE.AAAA, address });
      } else if (question.type === Packet.TYPE.TXT) {
        for (const data of entry.TXT ?? []) add({ type: Packet.TYPE.TXT, data: characterStrings(data) });
      }
      void send(response);
  };
  const { server, port } = await listenOnOnePort(handle);
  return {
    address: `127.0.0.1:${port}`,
    port,
    zone,
    queries,
    close: () => server.close(),
  };
}

/** UDP first on a free port, then TCP on the same number (resolvers retry truncated answers over TCP). */
async function listenOnOnePort(handle: dns2.DnsHandler) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const server = dns2.createServer({ udp: true, tcp: true, handle });
    // dns2's listen() never rejects: a port taken (EADDRINUSE, by anything on this busy machine)
    // is only an 'error' event, and its promise stays pending. So the error decides the race.
    let failed!: (error: Error) => void;
    const failure = new Promise<never>((_resolve, reject) => (failed = reject));
    failure.catch(() => undefined); // an error after listening is not this race's
    server.on('error', (error: Error) => failed(error));
    try {
      await Promise.race([server.listen({ udp: { port, address: '127.0.0.1' }, tcp: { port, address: '127.0.0.1' } }), failure]);
      return { server, port };
    } catch {
      // Not awaited: the server that never listened never emits 'close', so dns2's close()
      // would never resolve; the one that did listen closes all the same.
      void server.close();
    }
  }
  throw new Error('no free port for the test DNS server');
}
