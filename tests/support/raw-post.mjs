// A POST over a real loopback connection, for the body-cap tests: its body
// is either only declared (`declared`: a Content-Length, and no byte sent)
// or streamed in 1 KiB chunks without a Content-Length until the server
// answers (at most `max` bytes). Not fetch: a client that is still sending
// when the server answers and closes sees a failed request, not the answer.
import http from "node:http";

/**
 * `{ status, headers, text, json, sent }`; or `{ cut, sent }` when the server
 * answered and closed while the body was still being written and the socket
 * broke before the answer could be read (a race of the transport: the
 * caller then checks that the body was stopped early, `sent`).
 */
export function rawPost(base, path, headers, { declared, max = 0, timeoutMs = 5_000 } = {}) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const request = http.request({
      host: hostname,
      port,
      path,
      method: "POST",
      headers: { "content-type": "application/json", ...headers, ...(declared ? { "content-length": String(declared) } : {}) },
    });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`${path}: no answer within ${timeoutMs} ms (${sent} bytes sent)`));
    }, timeoutMs);
    request.on("response", (response) => {
      answered = true;
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => {
        clearTimeout(timer);
        request.destroy();
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode, headers: response.headers, text, json, sent });
      });
    });
    request.on("error", (error) => {
      if (answered) return;
      clearTimeout(timer);
      if (["EPIPE", "ECONNRESET"].includes(error.code) && sent > 0) resolve({ cut: error.code, sent });
      else reject(new Error(`${path}: ${error.message} after ${sent} bytes`));
    });
    if (declared) return request.flushHeaders();
    const chunk = Buffer.alloc(1024, 0x20);
    const pump = () => {
      if (answered || request.destroyed) return;
      if (sent >= max) return request.end();
      sent += chunk.length;
      // Paced, so that the answer is read as soon as it comes.
      request.write(chunk, () => setTimeout(pump, 1));
    };
    pump();
  });
}
