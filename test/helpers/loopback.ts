import { createServer, type Server, type Socket } from 'node:net';

/** A test server listening on 127.0.0.1, with every socket it holds, so closing never waits for a peer. */
export interface Loopback {
  /** Also ends `socket` on `close` (a tunnel's upstream, a socket taken over from a CONNECT). */
  track(socket: Socket): void;
  /** Destroys every socket still open (keep-alive clients, trickles, tunnels), then closes the server. */
  close(): Promise<void>;
}

/** Starts `server` (an http, https or net server) on a free port of 127.0.0.1 and tracks its connections. */
export async function listenOnLoopback(server: Server): Promise<Loopback> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  server.on('connection', track);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    track,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
