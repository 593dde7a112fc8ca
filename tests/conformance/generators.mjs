// Seeded generators of hostile inputs for the differential tests against the
// official SDK. Same seed, same inputs: a failure is reproducible by its index.

/** mulberry32: a small, fast, seeded PRNG. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (list) => list[int(list.length)];
  const chance = (p) => next() < p;
  return { next, int, pick, chance };
}

export const SEED = Number(process.env.DIFF_SEED ?? 20261128);
export const CASES = Number(process.env.DIFF_CASES ?? 20000);

// Pieces of text that break naive encoders and parsers.
const ATOMS = [
  "a", "Z", "0", "9", "-", "_", ".", "~", "*", " ", "  ", "\t", "\n", "\r\n", "+", "%", "%20", "%2B",
  "%zz", "%", "&", "=", "?", "#", "/", "\\", ":", ";", ",", "@", "!", "$", "'", "(", ")", "[", "]",
  "{", "}", "|", "^", "`", "<", ">", '"', "é", "e\u0301", "ß", "Ω", "中文", "ありがとう", "😀",
  "👩‍👩‍👧", "🇫🇷", "\u200f", "\u202e", "\u200b", "\u00a0", "\u3000", "\ufeff", "\u2028", "\u0085",
  "\0", "\u0001", "\u007f", "\ud800", "\udfff", "\ud83d", "\ude00", "\uffff", "\ufffd", "gmail",
  "calendar", "+14155551234", "(415) 555-1234", "https://x.example/cb?a=b&c=d#f", "pk_test_123",
];

export function text(r, maxAtoms = 8) {
  if (r.chance(0.03)) return r.pick(ATOMS).repeat(500 + r.int(3000)); // very long
  let out = "";
  const n = r.int(maxAtoms + 1);
  for (let i = 0; i < n; i++) out += r.pick(ATOMS);
  return out;
}

const ODD_VALUES = [
  undefined, null, "", 0, -0, 1, 42, -1.5, NaN, Infinity, -Infinity, 1e21, 1e-7, 2 ** 53 + 2,
  true, false, 10n, {}, { toString: () => "custom" }, [], ["a", "b"], [null], [[1, 2], 3],
  new Date(0),
];

/** A value of any kind an options object might hold. */
export function anyValue(r) {
  const roll = r.next();
  if (roll < 0.35) return r.pick(ODD_VALUES);
  return text(r);
}

const VALID_HANDLES = ["my-agent", "ab", "a1", "x-y-z", "agent007", "9lives", "a".repeat(63), "travel-bot"];
const RESERVED = ["docs", "api", "www", "app", "admin", "dashboard", "status", "blog", "travelbot",
  "focusai", "wealthbot", "devbot", "mobile-demo", "mcp", "v1", "auth", "profile", "tools",
  "connectors", "web", "memory"];
const HANDLE_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-";

/** An agent handle: mostly valid, often broken in one way or another. */
export function agentHandle(r) {
  const roll = r.next();
  if (roll < 0.4) return r.pick(VALID_HANDLES);
  if (roll < 0.5) return r.pick(RESERVED);
  if (roll < 0.75) {
    let out = "";
    const n = r.int(70);
    for (let i = 0; i < n; i++) out += HANDLE_CHARS[r.int(HANDLE_CHARS.length)];
    return out;
  }
  if (roll < 0.85) {
    // a valid handle with one mutation
    const base = r.pick(VALID_HANDLES.concat(RESERVED));
    const at = r.int(base.length + 1);
    return base.slice(0, at) + r.pick(["A", "_", " ", "\n", "é", "-", "\0", "\ud800", ""]) + base.slice(at);
  }
  if (roll < 0.9) return r.pick(["", " ", "a", "-ab", "ab-", "AB", "a".repeat(64), "api ", "Api"]);
  return text(r, 3);
}

const SCHEMES = ["https", "http", "HTTPS", "HtTp", "ftp", "ws", "wss", "file", "foo", "mailto",
  "javascript", "data", "blob", "git+ssh", "a", "1http", "h t"];
const HOSTS = ["sign-in.me", "SIGN-IN.ME", "example.com", "localhost", "127.0.0.1", "127.1",
  "0x7f.0.0.1", "[::1]", "[2001:db8::1]", "[::ffff:127.0.0.1]", "[::1", "bücher.example",
  "xn--bcher-kva.example", "ＥＸＡＭＰＬＥ.com", "例え.テスト", "a..b", "a.b.", ".a", "%41.com",
  "exa mple.com", "ex%20ample.com", "a\u200bb.com", "ab\u00adc.com", "", "-x-.com", "xn--a.com",
  "münchen.de", "faß.de", "\u0661\u0662.com", "x_y.com", "[fe80::1%25eth0]", "256.0.0.1", "1.2.3"];
const PORTS = ["", ":443", ":80", ":8443", ":0", ":65535", ":65536", ":abc", ":", ":08080"];
const PATHS = ["", "/", "/a/b", "/a/../b", "/%2e%2e/", "/x y", "/é", "/?", "/#"];
const SUFFIXES = ["", "?x=1", "?", "#frag", "#", "?a=b#c", "?é=😀", "#\ud800"];

/** A sign-in origin: URLs of every shape, and strings that are not URLs. */
export function origin(r) {
  const roll = r.next();
  if (roll < 0.12) return r.pick(ODD_VALUES);
  if (roll < 0.2) {
    return r.pick(["sign-in.me", "//sign-in.me", "https//x", "https:", "https:/", "https://",
      "http:x", "mailto:a@b.c", "javascript:alert(1)", "data:text/plain,hi", "foo:bar", "foo:bar ",
      "foo:/x", "foo://h/p", "foo:", "blob:https://x.example/uuid", "file:///tmp/x", "file://h/x",
      " https://sign-in.me ", "\thttps://sign-in.me\n", "https://sign-in.me\u0000", "urn:isbn:1",
      "https:sign-in.me", "https:\\\\sign-in.me\\x", "HTTP://EXAMPLE.COM:80/", "https://:@x.y",
      "https://u@x.y", "https://u:p@x.y:1/", "https://%zz.com", "http://[::1]:8787/a?b#c"]);
  }
  if (roll < 0.3) return text(r, 4);
  const scheme = r.chance(0.7) ? r.pick(["https", "http"]) : r.pick(SCHEMES);
  const creds = r.chance(0.1) ? r.pick(["u@", "u:p@", ":p@", "@", "ü:%@"]) : "";
  const host = r.pick(HOSTS);
  const sep = r.chance(0.95) ? "://" : r.pick([":", ":/", ":///"]);
  return scheme + sep + creds + host + r.pick(PORTS) + r.pick(PATHS) + r.pick(SUFFIXES);
}

const CONNECTOR_ITEMS = ["gmail", " calendar ", "", "  ", "gmail", "notion", "x,y", "é", null,
  undefined, 0, 1, false, true, NaN, [], ["a"], {}, "\ud800", "\u3000drive\u3000"];

export function connectors(r) {
  const roll = r.next();
  if (roll < 0.5) {
    const n = r.int(6);
    return Array.from({ length: n }, () => (r.chance(0.8) ? r.pick(CONNECTOR_ITEMS) : text(r, 3)));
  }
  if (roll < 0.75) return r.chance(0.5) ? r.pick(CONNECTOR_ITEMS.filter((v) => typeof v === "string")) : text(r, 3);
  return r.pick(ODD_VALUES);
}

const OPTION_KEYS = ["publishableKey", "returnTo", "state", "journeyId", "displayName", "agentName",
  "agentLogo", "delivery", "messageLinePhone", "agentPhone", "messageBody", "messageCompleteUrl",
  "theme"];

/** One options object for signInUrl, agent included. */
export function signInOptions(r) {
  const options = {};
  // Mostly valid handles, so that most cases reach the URL itself.
  if (r.chance(0.97)) {
    const roll = r.next();
    options.agent = roll < 0.75 ? r.pick(VALID_HANDLES) : roll < 0.95 ? agentHandle(r) : r.pick(ODD_VALUES);
  }
  for (const key of OPTION_KEYS) {
    if (r.chance(0.35)) options[key] = anyValue(r);
  }
  // Aliases set together, with falsy firsts.
  if (r.chance(0.2)) {
    options.displayName = r.pick(["", 0, null, false, NaN, undefined, "Name"]);
    options.agentName = anyValue(r);
  }
  if (r.chance(0.2)) {
    options.messageLinePhone = r.pick(["", 0, null, false, undefined, "+1 415"]);
    options.agentPhone = anyValue(r);
  }
  if (r.chance(0.4)) options.connectors = connectors(r);
  if (r.chance(0.4)) options.signInOrigin = origin(r);
  return options;
}

const PHONE_ATOMS = ["+", "1", "4", "0", "5", "55", "555", "1234", " ", "-", ".", "(", ")", "\u00a0",
  "\u3000", "\u2007", "\ufeff", "\t", "\n", "\u0085", "a", "١", "５", "++", "\ud800", "\0", "x", "😀"];

/** A phone-like string: digits with every kind of separator and junk. */
export function phoneText(r) {
  if (r.chance(0.1)) return r.pick(["", " ", "+14155551234", "14155551234", "+1 (415) 555-1234",
    "0014155551234", "+0123456789", "+123456", "+1234567", "+123456789012345", "+1234567890123456"]);
  if (r.chance(0.1)) return text(r, 4);
  if (r.chance(0.45)) {
    // Realistic: an optional +, 5 to 17 digits, separators of every kind.
    let out = r.chance(0.6) ? "+" : "";
    const n = 5 + r.int(13);
    for (let i = 0; i < n; i++) {
      out += String(i === 0 && r.chance(0.9) ? 1 + r.int(9) : r.int(10));
      if (r.chance(0.2)) out += r.pick([" ", "-", ".", "(", ")", "\u00a0", "\u2007", "\u3000", "\t", " - "]);
    }
    return r.chance(0.1) ? ` ${out} ` : out;
  }
  let out = "";
  const n = r.int(20);
  for (let i = 0; i < n; i++) out += r.pick(PHONE_ATOMS);
  return out;
}

/** A value for normalizePhoneCandidates: a list, one value, or nothing. */
export function phoneCandidates(r) {
  const roll = r.next();
  const item = () => (r.chance(0.75) ? phoneText(r) : r.pick(ODD_VALUES));
  if (roll < 0.7) return Array.from({ length: r.int(7) }, () => (r.chance(0.2) ? r.pick(["+1 415", " +1 415 ", "+1 415"]) : item()));
  if (roll < 0.9) return phoneText(r);
  return r.pick([undefined, null, "", 0, 5, true, false]);
}

/** resolveSsoRedirectUri input. */
export function ssoInput(r) {
  const input = {};
  const url = () => (r.chance(0.8) ? origin(r) : text(r, 4));
  if (r.chance(0.5)) input.redirectUri = r.chance(0.9) ? (typeof (url()) === "string" ? url() : "") : r.pick([undefined, null, ""]);
  if (r.chance(0.6)) input.appUrl = r.chance(0.9) ? String(origin(r) ?? "") + r.pick(["", "/", "//", "///"]) : r.pick([undefined, null, ""]);
  if (r.chance(0.4)) input.callbackPath = r.pick(["", "/cb", "/auth/configure/callback", "/x*y", "/a b", "#f", "?q", "cb", undefined, null]);
  for (const key of Object.keys(input)) if (input[key] !== undefined && input[key] !== null && typeof input[key] !== "string") input[key] = String(input[key]);
  return input;
}
