// The reference Worker for `make bench`: the official SDK (configure@1.7.4)
// doing configure-edge's work in plain JavaScript, with the same routes,
// checks and KV layout (SHA-256 keys, AES-256-GCM sealed values bound to
// the key, versioned records), so the two can be compared fairly.
import { Configure } from "configure";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64url = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const json = (status, body, headers = {}) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });

async function hashed(prefix, value) {
  return `${prefix}:${b64url(await crypto.subtle.digest("SHA-256", enc.encode(value)))}`;
}

let keyCache;
async function sealingKey(env) {
  if (!keyCache) {
    const [id, key] = env.CONFIGURE_EDGE_SEALING_KEYS.split(",")[0].split(":");
    keyCache = { id, key: await crypto.subtle.importKey("raw", Uint8Array.from(atob(key), (c) => c.charCodeAt(0)), "AES-GCM", false, ["encrypt", "decrypt"]) };
  }
  return keyCache;
}
async function seal(env, text, context) {
  const { id, key } = await sealingKey(env);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode(context) }, key, enc.encode(text)));
  const blob = new Uint8Array(12 + sealed.length);
  blob.set(iv);
  blob.set(sealed, 12);
  return `${id}.${b64url(blob)}`;
}
async function open(env, sealed, context) {
  const { key } = await sealingKey(env);
  const blob = fromB64url(sealed.split(".")[1]);
  return dec.decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv: blob.slice(0, 12), additionalData: enc.encode(context) }, key, blob.slice(12)));
}
async function storeLink(env, subject, token, userId, source) {
  const key = await hashed("link", subject);
  const record = { v: 1, userId, agent: env.CONFIGURE_AGENT, sealedToken: await seal(env, token, key), linkedAt: new Date().toISOString(), source };
  await env.CONFIGURE_KV.put(key, JSON.stringify(record));
}
const client = (env) => new Configure({ apiKey: env.CONFIGURE_API_KEY, agent: env.CONFIGURE_AGENT, baseUrl: env.CONFIGURE_BASE_URL, timeout: 10000 });
const authorized = (request, env) => request.headers.get("authorization") === `Bearer ${env.CONFIGURE_EDGE_API_SECRET}`;
const origin = (request) => new URL(request.url).origin;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const route = `${request.method} ${url.pathname}`;
    try {
      if (route === "POST /v1/journeys") {
        if (!authorized(request, env)) return json(401, { ok: false });
        const { subject } = await request.json();
        const journeyId = b64url(crypto.getRandomValues(new Uint8Array(32)));
        const key = await hashed("journey", journeyId);
        const now = Date.now();
        await env.CONFIGURE_KV.put(key, JSON.stringify({ v: 1, sealedSubject: await seal(env, subject, key), createdAt: now, expiresAt: now + 900_000 }), { expirationTtl: 900 });
        const signIn = client(env).auth.signInUrl({ delivery: "message", journeyId, messageCompleteUrl: `${origin(request)}/auth/configure/complete` });
        return json(201, { journeyId, url: signIn, expiresAt: new Date(now + 900_000).toISOString() });
      }
      if (route === "POST /auth/configure/complete") {
        const body = await request.json();
        const key = await hashed("journey", body.journeyId);
        const [stored, validation] = await Promise.all([env.CONFIGURE_KV.get(key), client(env).auth.validateSignInToken(body.token)]);
        if (!validation.valid || validation.agent !== env.CONFIGURE_AGENT || validation.userId !== body.userId) return json(401, { ok: false, linked: false });
        const journey = stored && JSON.parse(stored);
        if (!journey || journey.expiresAt <= Date.now()) return json(404, { ok: false, linked: false });
        await storeLink(env, await open(env, journey.sealedSubject, key), body.token, validation.userId, "webhook");
        await env.CONFIGURE_KV.delete(key);
        return json(200, { ok: true, linked: true });
      }
      if (route === "POST /v1/identity/resolve") {
        if (!authorized(request, env)) return json(401, { ok: false });
        const body = await request.json();
        const key = await hashed("link", body.subject);
        const stored = await env.CONFIGURE_KV.get(key);
        const token = stored ? await open(env, JSON.parse(stored).sealedToken, key) : undefined;
        const identity = await client(env).auth.resolveMessageIdentity({ externalId: body.externalId ?? `edge:${body.subject}`, token, phoneCandidates: body.phoneCandidates, validateToken: body.validateToken });
        if (identity.source === "phone_recognition") await storeLink(env, body.subject, identity.token, identity.userId ?? "", "phone_recognition");
        return json(200, identity);
      }
      if (route === "POST /v1/sign-ins") {
        if (!authorized(request, env)) return json(401, { ok: false });
        const { subject } = await request.json();
        const ticket = b64url(crypto.getRandomValues(new Uint8Array(32)));
        const key = await hashed("ticket", ticket);
        await env.CONFIGURE_KV.put(key, JSON.stringify({ v: 1, sealedSubject: await seal(env, subject, key), createdAt: Date.now(), expiresAt: Date.now() + 300_000 }), { expirationTtl: 300 });
        return json(201, { url: `${origin(request)}/auth/configure/sign-in?ticket=${ticket}` });
      }
      if (route === "GET /auth/configure/sign-in") {
        const ticketKey = await hashed("ticket", url.searchParams.get("ticket") ?? "");
        const record = JSON.parse((await env.CONFIGURE_KV.get(ticketKey)) ?? "null");
        if (!record) return new Response("invalid ticket", { status: 400 });
        await env.CONFIGURE_KV.delete(ticketKey);
        const state = b64url(crypto.getRandomValues(new Uint8Array(32)));
        const key = await hashed("state", state);
        const subject = await open(env, record.sealedSubject, ticketKey);
        await env.CONFIGURE_KV.put(key, JSON.stringify({ v: 1, sealedSubject: await seal(env, subject, key), createdAt: Date.now(), expiresAt: Date.now() + 600_000 }), { expirationTtl: 600 });
        const location = client(env).auth.signInUrl({ returnTo: `${origin(request)}/api/configure/callback`, state });
        return new Response(null, { status: 302, headers: { location, "set-cookie": `__Host-configure-edge-state=${state}; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Lax` } });
      }
      if (route === "GET /api/configure/callback") {
        const clear = "__Host-configure-edge-state=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax";
        const code = url.searchParams.get("code");
        const state = url.searchParams.get("state");
        const cookie = /__Host-configure-edge-state=([^;]+)/.exec(request.headers.get("cookie") ?? "")?.[1];
        if (!code) return new Response("Missing sign-in code.", { status: 400, headers: { "set-cookie": clear } });
        if (!state || state !== cookie) return new Response("Invalid sign-in state.", { status: 400, headers: { "set-cookie": clear } });
        const key = await hashed("state", state);
        const record = JSON.parse((await env.CONFIGURE_KV.get(key)) ?? "null");
        if (!record || record.expiresAt <= Date.now()) return new Response("Invalid sign-in state.", { status: 400, headers: { "set-cookie": clear } });
        const linked = await client(env).auth.exchangeSignInCode(code);
        await storeLink(env, await open(env, record.sealedSubject, key), linked.token, linked.userId, "callback");
        await env.CONFIGURE_KV.delete(key);
        return new Response(null, { status: 302, headers: { location: `${origin(request)}/auth/configure/linked`, "set-cookie": clear } });
      }
      if (route === "GET /healthz") return json(200, { ok: true });
      return json(404, { ok: false });
    } catch (error) {
      return json(502, { ok: false, error: String(error?.code ?? "error") });
    }
  },
};
