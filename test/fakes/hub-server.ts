// A local stand-in for the Hub's file endpoint: serves `/${id}/resolve/${revision}/${file}` from folders on
// disk (any revision), 404 for everything else, with Content-Length and CORS headers so pages on another
// origin can fetch from it. Records every request it gets.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface HubServerOptions {
  /** Repo id (owner/name) -> local folder holding its files. */
  repos: Record<string, string>;
  /**
   * File name -> bytes sent before the connection is dropped (the full Content-Length is still announced).
   * Read at every request, so a test can change it between loads.
   */
  cutAfter?: Record<string, number>;
}

export interface HubServer {
  /** The endpoint, e.g. http://127.0.0.1:41234 */
  url: string;
  /** "METHOD /path" of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

const cors = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
  'Access-Control-Allow-Headers': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Type',
};

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(`${req.method} ${pathname}`);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    const notFound = () => {
      const body = 'Entry not found';
      res.writeHead(404, { ...cors, 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) }).end(body);
    };
    const match = /^\/(.+?)\/resolve\/[^/]+\/(.+)$/.exec(decodeURIComponent(pathname));
    const folder = match ? options.repos[match[1]] : undefined;
    if (!match || !folder || (req.method !== 'GET' && req.method !== 'HEAD')) return notFound();
    const root = path.resolve(folder);
    const file = path.resolve(root, match[2]);
    if (!file.startsWith(root + path.sep)) return notFound();
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return notFound();

    res.writeHead(200, { ...cors, 'Content-Type': 'application/octet-stream', 'Content-Length': info.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const cut = options.cutAfter?.[match[2]];
    if (cut === undefined) {
      createReadStream(file).pipe(res);
      return;
    }
    createReadStream(file, { start: 0, end: cut - 1 })
      .on('end', () => res.socket?.destroy())
      .pipe(res, { end: false });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
