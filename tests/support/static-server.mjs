// A tiny static file server on 127.0.0.1 (a random free port) for browser
// tests: maps URL prefixes to folders, serves in-memory pages, no listing.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".css": "text/css",
  ".png": "image/png",
};

/** `mounts`: { "/pkg/": "/abs/folder" }; `pages`: { "/": "<html>..." }. */
export async function startStaticServer({ mounts = {}, pages = {} } = {}) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (pages[url.pathname] !== undefined) {
      res.writeHead(200, { "content-type": TYPES[".html"] });
      return res.end(pages[url.pathname]);
    }
    for (const [prefix, folder] of Object.entries(mounts)) {
      if (!url.pathname.startsWith(prefix)) continue;
      const file = path.resolve(folder, "." + decodeURIComponent(url.pathname.slice(prefix.length - 1)));
      if (!file.startsWith(path.resolve(folder)) || !fs.existsSync(file) || !fs.statSync(file).isFile()) break;
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
      return fs.createReadStream(file).pipe(res);
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
