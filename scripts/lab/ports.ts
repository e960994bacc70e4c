import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nobody listens on right now. The kernel picks it (port 0), we close
 * the probe socket and hand the number on; a tiny race with other processes remains, which is fine
 * for a test lab where every daemon binds loopback only.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not read the port the kernel picked'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
