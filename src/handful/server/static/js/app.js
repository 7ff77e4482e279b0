// Entry point: hash router, server status, API token prompt.
import { get, setToken, ApiError } from "./api.js";
import { h, modal, toast } from "./ui.js";
import { renderHome } from "./home.js";
import { renderProject } from "./project.js";

const root = document.getElementById("app");
export const state = { info: null, timers: new Set() };

export function every(ms, fn) {
  const id = setInterval(fn, ms);
  state.timers.add(id);
  return id;
}

function clearTimers() {
  for (const id of state.timers) clearInterval(id);
  state.timers.clear();
}

function setStatus(ok, text) {
  const el = document.getElementById("server-status");
  el.classList.toggle("ok", ok);
  el.classList.toggle("down", !ok);
  el.querySelector("span").textContent = text || (ok ? `handful ${state.info?.handful_version ?? ""}` : "offline");
}

let tokenDismissed = false;  // Escape on the token dialog: it does not pop up again by itself

function askToken() {
  // one dialog however many requests get a 401 (the health check every 5 s is one of them)
  if (document.querySelector("input[name=api-token]")) return;
  const input = h("input.input", { type: "password", name: "api-token", placeholder: "API token", autocomplete: "off" });
  const note = h("p.muted", {}, "It was started with --token. Paste the same token to continue.");
  modal("This server needs a token", h("div", {}, note, input),
    [["Continue", "primary", async () => {
      setToken(input.value);
      try { await get("/health"); } catch (err) {
        note.textContent = err.status === 401 ? "That token was not accepted. Paste the one the server was started with (--token)." : err.message;
        input.select();
        return false;  // the dialog stays open
      }
      await boot();
    }]], { onDismiss: () => { tokenDismissed = true; root.querySelector("[data-testid=enter-token]")?.focus(); } });
}

/** What a 401 leaves under the token dialog: why the page is empty, and a way to reopen it. */
function showLocked() {
  clearTimers();  // a project page's pollers would only get 401s
  document.getElementById("crumbs").replaceChildren();
  if (root.querySelector("[data-testid=locked]")) return;
  root.replaceChildren(h("div.empty", { "data-testid": "locked" }, h("h2", {}, "This server needs a token"),
    h("p.muted", {}, "It was started with --token. Enter the same token to see your projects."),
    h("button.primary", { "data-testid": "enter-token", onclick: () => { tokenDismissed = false; askToken(); } }, "Enter token")));
}

function onUnauthorized() {
  showLocked();
  if (!tokenDismissed) askToken();
}

const PROBLEMS = {
  gone: ["not-found", "This project does not exist", () => "It may have been deleted. Your other projects are on the home page."],
  page: ["not-found", "Page not found", () => `There is no page at ${location.hash.slice(1)}. Your projects are on the home page.`],
  failed: ["problem", "Something went wrong", (message) => message],
};

/** A page in place of the one asked for: `kind` is "gone" (no such project), "page" (an
 * address the router does not know) or "failed" (with the error's `message`). */
function showProblem(kind, message) {
  const [testid, title, text] = PROBLEMS[kind];
  document.getElementById("crumbs").replaceChildren();
  root.replaceChildren(h("div.empty", { "data-testid": testid }, h("h2", {}, title), h("p", {}, text(message)),
    h("a.button.primary", { href: "#/" }, "Back to projects")));
}

async function route() {
  clearTimers();
  const hash = location.hash;
  const home = hash === "" || hash === "#" || hash === "#/";
  // #/p/<id>[/<tab>[/<version>]]: renderProject sends an unknown tab to data
  const m = hash.match(/^#\/p\/(\d+)(?:\/([^/]*)(?:\/(\d+))?)?\/?$/);
  if (!home && !m) return showProblem("page");
  // an id past 2^53 is no project's (ids count up from 1), and Number() would send it as 1e+23
  if (m && !Number.isSafeInteger(Number(m[1]))) return showProblem("gone");
  try {
    if (m) await renderProject(root, Number(m[1]), m[2] || "data", state, m[3] && Number(m[3]));
    else await renderHome(root, state);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;  // showLocked() has the page
    showProblem(m && err instanceof ApiError && err.status === 404 ? "gone" : "failed", err.message);  // 404: deleted, an old link
  }
}

async function boot() {
  try {
    state.info = await get("/info");
    setStatus(true);
  } catch (err) {
    setStatus(false, err.status === 401 ? "locked" : "offline");
    if (err.status !== 401) toast(err.message, "error");
    return;
  }
  await route();
}

window.addEventListener("hashchange", route);
// the net under every handler: a failed request nothing caught is still shown, never swallowed
window.addEventListener("unhandledrejection", (e) => {
  if (e.reason instanceof ApiError && e.reason.status !== 401) toast(e.reason.message, "error");
});
window.addEventListener("handful:auth", onUnauthorized);
setInterval(async () => {
  try { await get("/health"); setStatus(true); } catch (err) { setStatus(false, err.status === 401 ? "locked" : "offline"); }
}, 5000);
boot();
