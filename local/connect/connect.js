// The connect form: POST {token, region} to the sesame-link API, show the confirmation or a clear
// message per error code. Calls the API as a deployed frontend does: another origin, CORS, JSON.
"use strict";

const api = document.querySelector('meta[name="sesame-link-api"]').content;
const form = document.getElementById("connect");
const tokenInput = document.getElementById("token");
const regionInput = document.getElementById("region");
const submit = document.getElementById("submit");
const outcome = document.getElementById("outcome");

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
