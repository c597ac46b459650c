// /etc/services as getservbyname / getservbyport read it: "name port/proto [aliases] [# ...]",
// first matching line wins, aliases match by name only. Spec: docs/spec/ipvsadm.md §4.1 (port names),
// §7.1 (port rendering).

export type ServProto = 'tcp' | 'udp' | 'sctp';

interface ServEntry {
  name: string;
  aliases: string[];
  port: number;
  proto: string;
}

export class ServicesTable {
  private readonly byName = new Map<string, number>();
  private readonly byPort = new Map<string, string>();

  constructor(text: string) {
    for (const e of parseServices(text)) {
      for (const n of [e.name, ...e.aliases]) {
        const k = `${n}/${e.proto}`;
        if (!this.byName.has(k)) this.byName.set(k, e.port);
      }
      const pk = `${e.port}/${e.proto}`;
      if (!this.byPort.has(pk)) this.byPort.set(pk, e.name);
    }
  }

  /** getservbyname(name, proto): the port, or null. */
  portByName(name: string, proto: ServProto): number | null {
    return this.byName.get(`${name}/${proto}`) ?? null;
  }

  /** getservbyport(port, proto): the official name, or null. */
  nameByPort(port: number, proto: ServProto): string | null {
    return this.byPort.get(`${port}/${proto}`) ?? null;
  }
}

function parseServices(text: string): ServEntry[] {
  const out: ServEntry[] = [];
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const line = hash >= 0 ? raw.slice(0, hash) : raw;
    const f = line.split(/[ \t\r]+/).filter((x) => x !== '');
    if (f.length < 2) continue;
    const m = /^(\d+)\/(\S+)$/.exec(f[1]!);
    if (!m) continue;
    const port = Number(m[1]);
    if (port > 65535) continue;
    out.push({ name: f[0]!, aliases: f.slice(2), port, proto: m[2]! });
  }
  return out;
}
