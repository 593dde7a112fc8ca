// The link builder: the npm helpers (the web build of configure-edge, served
// from /pkg/) build the hosted URL live as one types, and report the same
// errors the official SDK would. No external requests.
import { signInUrl, validatePhone } from "/pkg/browser.js";

const form = document.getElementById("builder");
const urlOut = document.getElementById("url");
const agentError = document.getElementById("agent-error");
const phoneError = document.getElementById("phone-error");
const TEXT_FIELDS = ["publishableKey", "delivery", "theme", "displayName", "messageLinePhone", "messageBody", "returnTo", "journeyId"];

function options() {
  const data = new FormData(form);
  const out = { agent: data.get("agent") };
  for (const name of TEXT_FIELDS) {
    const value = data.get(name);
    if (value) out[name] = value;
  }
  const connectors = data.getAll("connectors");
  if (connectors.length) out.connectors = connectors;
  return out;
}

function showError(element, input, message) {
  element.textContent = message ?? "";
  element.hidden = !message;
  input.setAttribute("aria-invalid", message ? "true" : "false");
}

function shellQuote(text) {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

function render() {
  const opts = options();
  try {
    urlOut.value = signInUrl(opts);
    showError(agentError, form.agent, null);
  } catch (error) {
    urlOut.value = "";
    showError(agentError, form.agent, `${error.name} ${error.code}: ${error.message}`);
  }
  if (opts.messageLinePhone) {
    try {
      validatePhone(opts.messageLinePhone);
      showError(phoneError, form.messageLinePhone, null);
    } catch (error) {
      showError(phoneError, form.messageLinePhone, `${error.code}: ${error.message}`);
    }
  } else {
    showError(phoneError, form.messageLinePhone, null);
  }
  const journey = { subject: "your-conversation-id" };
  if (opts.displayName) journey.displayName = opts.displayName;
  if (opts.connectors) journey.connectors = opts.connectors;
  if (opts.messageLinePhone) journey.messageLinePhone = opts.messageLinePhone;
  if (opts.messageBody) journey.messageBody = opts.messageBody;
  if (opts.theme) journey.theme = opts.theme;
  const origin = window.location.origin;
  const auth = `-H "Authorization: Bearer $CONFIGURE_EDGE_API_SECRET" -H 'Content-Type: application/json'`;
  document.getElementById("curl-journey").textContent =
    `curl -s -X POST ${origin}/v1/journeys ${auth} \\\n  -d ${shellQuote(JSON.stringify(journey))}`;
  const identity = { subject: "your-conversation-id", phoneCandidates: ["+14155550101"], validateToken: false };
  document.getElementById("curl-identity").textContent =
    `curl -s -X POST ${origin}/v1/identity/resolve ${auth} \\\n  -d ${shellQuote(JSON.stringify(identity))}`;
}

document.getElementById("copy-url").addEventListener("click", async () => {
  const status = document.getElementById("copy-status");
  try {
    await navigator.clipboard.writeText(urlOut.value);
    status.textContent = "Copied.";
  } catch {
    status.textContent = "Copy failed: select the URL and copy it by hand.";
  }
});

form.addEventListener("input", render);
form.addEventListener("change", render);
render();

async function health() {
  const summary = document.getElementById("health-summary");
  const list = document.getElementById("health-settings");
  try {
    const response = await fetch("/healthz", { headers: { accept: "application/json" } });
    const body = await response.json();
    const entries = Object.entries(body.settings);
    const present = entries.filter(([, ok]) => ok).length;
    summary.textContent = `Version ${body.version}: ${present} of ${entries.length} settings present${body.problems.length ? `, ${body.problems.length} invalid` : ""}.`;
    const problems = new Map(body.problems.map((p) => [p.setting, p.problem]));
    list.replaceChildren(
      ...entries.map(([name, ok]) => {
        const item = document.createElement("li");
        const problem = problems.get(name);
        item.className = problem ? "problem" : ok ? "present" : "missing";
        item.textContent = `${name}: ${problem ? `invalid (${problem})` : ok ? "present" : "missing"}`;
        return item;
      }),
    );
  } catch {
    summary.textContent = "Could not read /healthz.";
  }
}
health();
window.builderReady = true;
