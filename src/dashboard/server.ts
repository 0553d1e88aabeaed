/**
 * Serves the dashboard: one HTML page, its compiled scripts, the protobuf runtime and the bus
 * schema, as static files over plain HTTP on the bus's port. The page then connects to the bus
 * WebSocket like any other client, with the token it finds in the URL fragment (`#token=…`): a
 * fragment is never sent to a server, so the token stays out of request lines, logs and referrers.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join, normalize, sep } from 'node:path';
import { OptoloopError } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';
import { protoPath } from '../bus/schema.js';
import { BUS_PATH, type BusAddress } from '../bus/server.js';
import { renderDashboardPage } from './page.js';

export interface DashboardOptions {
  /** Folder of the compiled page scripts (`dist/web`, built by `npm run build`). */
  readonly webRoot?: string;
  readonly title?: string;
  readonly rasterWindowS?: number;
}

/** Where `npm run build` puts the page's scripts. */
export function defaultWebRoot(): string {
  return join(packageRoot(), 'dist', 'web');
}

/** The URL to open: the page, with the token in the fragment. */
export function dashboardUrl(address: BusAddress, token: string): string {
  return `${address.httpUrl}#token=${encodeURIComponent(token)}`;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

/** An HTTP handler for the bus server's `httpHandler` option. */
export function createDashboardHandler(options: DashboardOptions = {}): (request: IncomingMessage, response: ServerResponse) => void {
  const webRoot = options.webRoot ?? defaultWebRoot();
  if (!existsSync(join(webRoot, 'dashboard', 'web', 'main.js'))) {
    throw new OptoloopError('E_INTERNAL', `dashboard: its scripts are not built (${join(webRoot, 'dashboard', 'web', 'main.js')} is missing): run "npm run build"`, {
      stage: 'dashboard',
    });
  }
  const require = createRequire(import.meta.url);
  const protobufRuntime = readFileSync(require.resolve('protobufjs/dist/protobuf.min.js'));
  const proto = readFileSync(protoPath());
  const page = Buffer.from(renderDashboardPage({ title: options.title ?? 'optoloop', busPath: BUS_PATH, rasterWindowS: options.rasterWindowS ?? 5 }));
  const root = normalize(webRoot + sep);

  return (request, response) => {
    let path: string;
    try {
      path = decodeURIComponent((request.url ?? '/').split(/[?#]/)[0]);
    } catch {
      response.writeHead(400, { ...SECURITY_HEADERS, 'content-type': 'text/plain' }).end('bad request path\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD' }).end();
      return;
    }
    const send = (type: string, body: Buffer) => {
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': body.length });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (path === '/' || path === '/index.html') {
      const host = request.headers.host ?? '';
      // Scripts only from this origin ('unsafe-eval' because protobufjs compiles its decoders with
      // new Function); the WebSocket only to this server.
      response.setHeader('content-security-policy', `default-src 'self'; script-src 'self' 'unsafe-eval'; connect-src 'self' ws://${host}; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'`);
      send('text/html; charset=utf-8', page);
      return;
    }
    if (path === '/favicon.ico') {
      response.writeHead(204, SECURITY_HEADERS).end();
      return;
    }
    if (path === '/vendor/protobuf.min.js') return send('text/javascript; charset=utf-8', protobufRuntime);
    if (path === '/optoloop.proto') return send('text/plain; charset=utf-8', proto);
    if (path.startsWith('/app/') && path.endsWith('.js')) {
      const file = normalize(join(root, path.slice('/app/'.length)));
      if (file.startsWith(root) && existsSync(file)) return send('text/javascript; charset=utf-8', readFileSync(file));
    }
    response.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain' }).end('not found\n');
  };
}
