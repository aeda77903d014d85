/** A registry whose answer is not valid HTTP (a control character in WWW-Authenticate): a protocol error. */
import { createServer, type Server } from 'node:net';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';

let server: Server;
let host: string;
beforeAll(async () => {
  // Node's own HTTP server refuses to send such a header, so the answer is written by hand.
  server = createServer((socket) => {
    socket.once('data', () =>
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="http://a\u0001b"\r\nContent-Length: 0\r\n\r\n',
      ),
    );
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  host = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('a malformed registry answer', () => {
  it('is PROTOCOL_VIOLATION saying the answer is not valid HTTP, not CONNECTION_FAILED / check the network', async () => {
    const { path, cleanup } = await tempDir('cli-malformed-');
    try {
      const r = await cli(['pull', `${host}/app:1`, `${path}/oci`], { timeout: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^error \\[PROTOCOL_VIOLATION\\]: GET http://${host}/v2/.*: the registry's answer is not valid HTTP \\(`,
        ),
      );
      expect(r.stderr).toMatch(/\nhint: a header or the status line holds a control character/);
      expect(r.stderr).not.toMatch(/CONNECTION_FAILED|check the network/);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
