import type { AddressInfo } from 'node:net';

/** Start `server` on a free port of 127.0.0.1; its port, `host:port` and `http://` URL. */
export async function listenOnLoopback(server: {
  listen(port: number, host: string, cb: () => void): unknown;
  address(): unknown;
}): Promise<{ port: number; host: string; url: string }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` };
}
