// The hosted connect page. The session token arrives in the URL fragment (never sent to a server,
// never in Referer); the page removes it from the address bar at once and sends it only in the
// Authorization header. Embedded in an iframe of an origin the session allows, it tells that
// window of the completion by postMessage.
"use strict";

const sessionToken = location.hash.slice(1);
history.replaceState(null, "", location.pathname + location.search);

const form = document.getElementById("connect");
const title = document.getElementById("title");
const tokenInput = document.getElementById("token");
const regionInput = document.getElementById("region");
const submit = document.getElementById("submit");
const outcome = document.getElementById("outcome");
let session = null;

const MESSAGES = {
  invalid_request: "Check the form: the token or the region is not in the expected shape.",
  session_invalid: "This connect link is not valid. Ask for a new one.",
  session_expired: "This connect link has expired or was already used. Ask for a new one.",
  origin_not_allowed: "This page may not be used from here.",
  payload_too_large: "That is far too long to be a Sesame API token.",
  invalid_token: "Sesame did not accept this token. Copy it again from Sesame (Settings › Integrations › API), or create a new one.",
  token_forbidden: "Sesame refused this token. Check that the API add-on is active on your Sesame account.",
  unknown_region: "There is no Sesame region by that name. Check the address you use to reach Sesame.",
  company_mismatch: "This token belongs to another Sesame company than the account being reconnected.",
  connection_limit_reached: "This account has as many Sesame connections as it may have.",
  link_attempts_exhausted: "Too many unsuccessful attempts.",
  sesame_rate_limited: "Sesame is receiving too many requests for your company right now.",
  sesame_unavailable: "Sesame is not answering properly right now.",
  sesame_timeout: "Sesame took too long to answer.",
  storage_unavailable: "We could not save the connection just now.",
  storage_failed: "We could not save the connection. Please contact support.",
};

document.getElementById("reveal").addEventListener("click", (event) => {
  const showing = tokenInput.type === "text";
  tokenInput.type = showing ? "password" : "text";
  event.currentTarget.textContent = showing ? "Show" : "Hide";
  event.currentTarget.setAttribute("aria-pressed", String(!showing));
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  connect();
});

function call(path, options = {}) {
  return fetch(path, {
    ...options,
    headers: { ...(options.headers || {}), Authorization: `ConnectSession ${sessionToken}` },
  });
}

async function start() {
  if (!sessionToken) {
    showProblem({ code: "session_invalid", title: "No connect session" });
    return;
  }
  const response = await call("/connect/session");
  const body = await response.json();
  if (!response.ok) {
    showProblem(body);
    return;
  }
  session = body;
  title.textContent = `Connect Sesame HR for ${session.tenant_name}`;
  if (session.region) regionInput.value = session.region;
  document.getElementById("reconnecting").hidden = !session.reconnect;
  form.hidden = false;
}

async function connect() {
  submit.disabled = true;
  submit.textContent = "Connecting…";
  try {
    const response = await call("/connect/session/link", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: tokenInput.value.trim(), region: regionInput.value.trim() }),
    });
    const body = await response.json();
    if (response.ok) {
      showConnected(body);
    } else {
      showProblem(body, response.headers.get("Retry-After"));
    }
  } catch (error) {
    show("retry", "We could not reach the service", [text("Check your connection and try again.")]);
  } finally {
    submit.disabled = false;
    submit.textContent = "Connect";
  }
}

function showConnected(connection) {
  tokenInput.value = "";
  form.hidden = true;
  const details = document.createElement("dl");
  for (const [term, value] of [
    ["Company", connection.company.name || connection.company.id],
    ["Region", connection.region],
    ["Token", connection.token_hint],
  ]) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    details.append(dt, dd);
  }
  show("ok", "Sesame HR connected", [details, text("You can close this page.")]);
  tellEmbedder(connection);
}

// Only an embedding window of an origin the session allows hears of the completion: postMessage
// delivers to that exact origin or not at all.
function tellEmbedder(connection) {
  if (window.parent === window) return;
  const ancestors = location.ancestorOrigins;
  const parentOrigin = ancestors && ancestors.length ? ancestors[0] : null;
  if (!parentOrigin || !session.allowed_origins.includes(parentOrigin)) return;
  window.parent.postMessage(
    { type: "sesame-link:completed", session_id: session.session_id, connection_id: connection.connection_id },
    parentOrigin,
  );
}

function showProblem(problem, retryAfter) {
  const lines = [text(MESSAGES[problem.code] || problem.detail || "Something went wrong.")];
  if (problem.code === "wrong_region" && problem.suggested_region) {
    lines[0] = text(`This token belongs to region ${problem.suggested_region}, not ${regionInput.value}.`);
    regionInput.value = problem.suggested_region;
  } else if (problem.retryable) {
    lines.push(text(retryAfter ? `Try again in ${retryAfter} seconds.` : "This is temporary: try again in a moment."));
  }
  for (const field of problem.errors || []) {
    lines.push(text(`${field.field}: ${field.message}`));
  }
  show(problem.retryable ? "retry" : "bad", problem.title || "Could not connect", lines);
  outcome.dataset.code = problem.code;
  if (["session_invalid", "session_expired", "origin_not_allowed"].includes(problem.code)) form.hidden = true;
}

function show(kind, heading, nodes) {
  outcome.className = kind;
  outcome.replaceChildren();
  delete outcome.dataset.code;
  const element = document.createElement("h2");
  element.textContent = heading;
  outcome.append(element, ...nodes);
}

function text(content) {
  const paragraph = document.createElement("p");
  paragraph.textContent = content;
  return paragraph;
}

start();
