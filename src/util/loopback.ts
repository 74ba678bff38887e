import { createServer, type AddressInfo, type Server } from 'node:net';

/** Starts `server` on 127.0.0.1 (dev-box servers and tests never bind other addresses) at a port the kernel picks; that port. */
export async function listenLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  return (server.address() as AddressInfo).port;
}

/** A port free on 127.0.0.1 just now, for a program that must be told its port (sshd, nginx). */
export async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listenLoopback(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
