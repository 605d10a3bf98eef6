import { connect, createServer, type Server, type Socket } from 'node:net';

/** What the proxy does to the connections of one client name. */
export type ConnectionFault =
  /** Requests reach nothing and no reply comes: a write sent this way has an unknown outcome. */
  | 'blackhole'
  /** Connections are cut and new ones refused: nothing can be sent. */
  | 'refuse'
  /** Writes are held back, in order, until {@link ConnectionFaultProxy.heal}: a slow network. */
  | 'hold';

interface Link {
  readonly client: Socket;
  readonly server: Socket;
  name: string | undefined;
  head: string;
  /** Writes still let through before the fault applies to this connection. */
  grace: number;
  /** True once the fault swallowed something: the connection's replies no longer line up. */
  damaged: boolean;
  /** Writes held back by a `hold` fault. */
  held: Buffer[];
}

/**
 * A TCP proxy in front of a real redis-server that injects faults on the connections of one
 * client only, told apart by the CLIENT SETNAME each sends when it connects (tidykv names its
 * connections: `tidykv-session`, `tidykv-repository`). It lets a test fail the session's
 * end-of-request save while the handler's repository writes go through.
 */
export class ConnectionFaultProxy {
  private readonly links = new Set<Link>();
  private readonly faults = new Map<string, ConnectionFault>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<ConnectionFaultProxy> {
    // The server needs the proxy to accept connections and the proxy needs the server's port.
    const ref: { proxy?: ConnectionFaultProxy } = {};
    const server = createServer((client) => ref.proxy?.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.proxy = new ConnectionFaultProxy(server, (server.address() as { port: number }).port);
    return ref.proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Applies `fault` to connections named `name` from now on (and cuts them, for `refuse`), after
   * letting `afterWrites` more client writes through on each (each of tidykv's commands is one
   * write: no auto-pipelining), e.g. 1 to let a request's load pass and catch its next command.
   */
  inject(name: string, fault: ConnectionFault, afterWrites = 0): void {
    this.faults.set(name, fault);
    for (const l of this.links) {
      if (l.name !== name) continue;
      l.grace = afterWrites;
      if (fault === 'refuse' && afterWrites === 0) this.cut(l);
    }
  }

  /**
   * Lets every connection through again. A connection that had a command swallowed is cut, as
   * the end of a real partition would (its client waits for a reply that will never come, so
   * every later reply would be matched to the wrong command); clients reconnect by themselves.
   */
  heal(): void {
    this.faults.clear();
    for (const l of this.links) {
      if (l.damaged) this.cut(l);
      for (const chunk of l.held.splice(0)) l.server.write(chunk);
    }
  }

  /** How many writes of connections named `name` are being held back. */
  heldWrites(name: string): number {
    let n = 0;
    for (const l of this.links) if (l.name === name) n += l.held.length;
    return n;
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    const server = connect(target.port, target.host);
    const link: Link = { client, server, name: undefined, head: '', grace: 0, damaged: false, held: [] };
    this.links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.name === undefined && link.head.length < 4096) {
        link.head += chunk.toString('latin1');
        // RESP of CLIENT SETNAME <name>: the name is the bulk string after "setname".
        const m = /setname\r\n\$\d+\r\n([^\r]+)\r\n/i.exec(link.head);
        if (m) link.name = m[1];
      }
      const fault = link.name === undefined ? undefined : this.faults.get(link.name);
      if (fault !== undefined && link.grace > 0) link.grace--;
      else if (fault === 'refuse') return this.cut(link);
      else if (fault === 'hold' || link.held.length > 0) {
        link.held.push(chunk);
        return;
      } else if (fault === 'blackhole') {
        link.damaged = true; // swallowed: Redis never sees it, the client never hears back
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => client.write(chunk));
    const end = (): void => this.cut(link);
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
  }

  private cut(link: Link): void {
    link.client.destroy();
    link.server.destroy();
    this.links.delete(link);
  }

  async close(): Promise<void> {
    for (const l of this.links) this.cut(l);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
