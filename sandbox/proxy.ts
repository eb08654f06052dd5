import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * A CONNECT proxy that sends Azure's public host names to the sandbox: the SDKs keep their real
 * URLs and their checks (Key Vault's challenge verification), and nothing leaves this machine.
 */
export async function startTunnelProxy(
  route: (host: string, port: number) => number | undefined,
): Promise<{ url: string; server: Server; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((_request, response) => {
    response.writeHead(405).end('The sandbox proxy only tunnels (CONNECT).');
  });
  server.on('connect', (request, clientSocket: Socket, head: Buffer) => {
    const [host = '', portText = '443'] = (request.url ?? '').split(':');
    const port = route(host.toLowerCase(), Number(portText));
    if (port === undefined) {
      clientSocket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    tunnels.push(`${host}:${portText}`);
    track(clientSocket);
    const upstream = connect(port, '127.0.0.1', () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      clientSocket.destroy();
    };
    track(upstream);
    upstream.on('error', close);
    clientSocket.on('error', close);
    upstream.once('close', close);
    clientSocket.once('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The proxy has no port.');
  return {
    url: `http://127.0.0.1:${address.port}`,
    server,
    tunnels,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}
