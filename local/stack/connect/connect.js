// The connect page: the form POSTs {token, region} to the sesame-link API and shows the confirmation
// or a clear message per error code; below it, the tenant's connections with their status, a
// "Check now", an "Unlink" with a confirmation step, and "Reconnect" for a broken one. Calls the
// API as a deployed frontend does: another origin, CORS, JSON.
"use strict";

const api = document.querySelector('meta[name="sesame-link-api"]').content;
const form = document.getElementById("connect");
const tokenInput = document.getElementById("token");
const regionInput = document.getElementById("region");
const submit = document.getElementById("submit");
const outcome = document.getElementById("outcome");
const list = document.getElementById("connections");
const empty = document.getElementById("linked-empty");
const more = document.getElementById("more");
const reconnecting = document.getElementById("reconnecting");
let nextCursor = null;

const STATUS = {
  active: "Working",
  invalid_token: "Needs attention: Sesame no longer accepts the token",
  token_forbidden: "Needs attention: the API add-on is off or the token lost its access",
  company_changed: "Needs attention: the token now belongs to another company",
};

const MESSAGES = {
  invalid_request: "Check the form: the token or the region is not in the expected shape.",
  unauthenticated: "Your session has expired. Sign in again, then connect.",
  payload_too_large: "That is far too long to be a Sesame API token.",
  invalid_token: "Sesame did not accept this token. Copy it again from Sesame (Settings › Integrations › API), or create a new one.",
  token_forbidden: "Sesame refused this token. Check that the API add-on is active on your Sesame account.",
  unknown_region: "There is no Sesame region by that name. Check the address you use to reach Sesame.",
  sesame_rate_limited: "Sesame is receiving too many requests for your company right now.",
  sesame_unavailable: "Sesame is not answering properly right now.",
  sesame_timeout: "Sesame took too long to answer.",
  storage_unavailable: "We could not save the connection just now.",
  storage_failed: "We could not save the connection. Our team has been told; please contact support.",
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

async function connect() {
  submit.disabled = true;
  submit.textContent = "Connecting…";
  try {
    const response = await fetch(`${api}/connections`, {
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
    show("retry", "We could not reach the service", [text("Check your connection and try again.")], retryButton());
  } finally {
    submit.disabled = false;
    submit.textContent = "Connect";
  }
}

function showConnected(connection) {
  tokenInput.value = "";
  reconnecting.hidden = true;
  loadConnections();
  const details = document.createElement("dl");
  for (const [term, value] of [
    ["Company", connection.company.name || connection.company.id],
    ["Region", connection.region],
    ["Token", connection.token_hint],
    ["Connection", connection.connection_id],
  ]) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    details.append(dt, dd);
  }
  const title = connection.created ? "Sesame HR connected" : "Sesame HR connection updated";
  show("ok", title, [details]);
}

function showProblem(problem, retryAfter) {
  const lines = [text(MESSAGES[problem.code] || problem.detail || "Something went wrong.")];
  let action = null;
  if (problem.code === "wrong_region" && problem.suggested_region) {
    lines[0] = text(`This token belongs to region ${problem.suggested_region}, not ${regionInput.value}.`);
    action = button(`Use region ${problem.suggested_region}`, () => {
      regionInput.value = problem.suggested_region;
      connect();
    });
  } else if (problem.retryable) {
    lines.push(text(retryAfter ? `Try again in ${retryAfter} seconds.` : "This is temporary: try again in a moment."));
    action = retryButton();
  }
  for (const field of problem.errors || []) {
    lines.push(text(`${field.field}: ${field.message}`));
  }
  show(problem.retryable ? "retry" : "bad", problem.title || "Could not connect", lines, action);
  outcome.dataset.code = problem.code;
}

function show(kind, title, nodes, action) {
  outcome.className = kind;
  outcome.replaceChildren();
  delete outcome.dataset.code;
  const heading = document.createElement("h2");
  heading.textContent = title;
  outcome.append(heading, ...nodes);
  if (action) outcome.append(action);
}

function text(content) {
  const paragraph = document.createElement("p");
  paragraph.textContent = content;
  return paragraph;
}

function button(label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", onClick);
  return element;
}

function retryButton() {
  return button("Try again", connect);
}

// The connections list.

more.addEventListener("click", () => loadConnections(nextCursor));

async function loadConnections(cursor = null) {
  const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
  const response = await fetch(`${api}/connections${query}`);
  if (!response.ok) return;
  const page = await response.json();
  if (!cursor) list.replaceChildren();
  list.append(...page.connections.map(connectionItem));
  nextCursor = page.next_cursor;
  more.hidden = !nextCursor;
  empty.hidden = list.children.length > 0;
}

function connectionItem(connection) {
  const item = document.createElement("li");
  item.dataset.connection = connection.connection_id;
  item.className = connection.status;
  const name = document.createElement("strong");
  name.textContent = connection.company.name || connection.company.id;
  const status = document.createElement("span");
  status.className = "status";
  status.textContent = STATUS[connection.status_reason || connection.status];
  const facts = document.createElement("p");
  facts.className = "help";
  facts.textContent = `Region ${connection.region} · token ${connection.token_hint} · linked ${when(connection.linked_at)} · checked ${when(connection.checked_at)}`;
  const note = document.createElement("p");
  note.className = "note";
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.append(button("Check now", () => check(connection, note)));
  if (connection.status === "broken") actions.append(button("Reconnect", () => reconnect(connection)));
  actions.append(button("Unlink", () => confirmUnlink(connection, actions)));
  item.append(name, status, facts, note, actions);
  return item;
}

async function check(connection, note) {
  note.textContent = "Checking with Sesame…";
  const response = await fetch(`${api}/connections/${connection.connection_id}/check`, { method: "POST" });
  if (response.ok) {
    const checked = await response.json();
    list.querySelector(`[data-connection="${checked.connection_id}"]`).replaceWith(connectionItem(checked));
    return;
  }
  const problem = await response.json();
  const retryAfter = response.headers.get("Retry-After");
  note.textContent = (MESSAGES[problem.code] || problem.detail) + (retryAfter ? ` Try again in ${retryAfter} seconds.` : "");
}

function reconnect(connection) {
  regionInput.value = connection.region;
  tokenInput.value = "";
  reconnecting.textContent = `Reconnecting ${connection.company.name || connection.company.id}: paste a new API token from Sesame.`;
  reconnecting.hidden = false;
  tokenInput.focus();
}

function confirmUnlink(connection, actions) {
  const question = document.createElement("p");
  question.textContent = `Unlink ${connection.company.name || connection.company.id}? Its stored token will be deleted.`;
  actions.replaceChildren(
    question,
    button("Yes, unlink", () => unlink(connection)),
    button("Cancel", () => loadConnections()),
  );
}

async function unlink(connection) {
  await fetch(`${api}/connections/${connection.connection_id}`, { method: "DELETE" });
  loadConnections();
}

function when(timestamp) {
  return new Date(timestamp).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

loadConnections();
