// A project: header, tabs, and the training banner shown on every tab while a job runs.
import { get, patch, del } from "./api.js";
import { h, modal, toast } from "./ui.js";
import { renderData } from "./data.js";
import { renderTrain, watchJob, STAGES } from "./train.js";
import { renderResults } from "./results.js";
import { renderTest, showNewVersion } from "./testing.js";
import { renderVersions } from "./versions.js";

const TABS = [["data", "Data"], ["train", "Train"], ["results", "Results"], ["test", "Test"], ["versions", "Versions"]];
/** The tabs that show the current version, drawn again when a job watched from them ends. */
const REDRAWN = new Set(["results", "test", "versions"]);
const VIEWS = { data: renderData, train: renderTrain, results: renderResults, test: renderTest, versions: renderVersions };

/** Project `id` on `tab`; `version` (the Results tab only) shows that model version. */
export async function renderProject(root, id, tab, state, version) {
  if (!Object.hasOwn(VIEWS, tab)) { location.replace(`#/p/${id}/data`); return; }  // a mistyped or old tab
  if (version && tab !== "results") { location.replace(`#/p/${id}/${tab}`); return; }
  const project = await get(`/projects/${id}`);
  const ctx = {
    id, project, state, tab,
    classes: () => Object.keys(ctx.project.classes),
    refresh: async () => { ctx.project = await get(`/projects/${id}`); renderHeader(); return ctx.project; },
    go: (t) => { location.hash = `#/p/${id}/${t}`; },
  };
  const header = h("section.project-head");
  const banner = h("div.job-banner", { hidden: true });
  const content = h("section.tab-content", { "data-tab": tab });
  document.getElementById("crumbs").replaceChildren(h("a", { href: "#/" }, "Projects"), h("span", {}, "/"), h("b", {}, project.name));

  function renderHeader() {
    const p = ctx.project;
    const version = p.current_version;
    header.replaceChildren(
      h("div.title-row", {},
        h("h1.editable", { title: "Rename", onclick: rename, tabindex: 0, role: "button",
          onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); rename(); } } }, p.name),
        h(`span.badge.${p.modality}`, {}, p.modality),
        version ? h("span.chip.good", { "data-testid": "current-version" }, `model v${version}`) : h("span.chip", {}, "no model yet"),
        h("div.spacer"),
        h("button.ghost.small", { onclick: remove }, "Delete project")),
      h("nav.tabs", {}, TABS.map(([key, label]) =>
        h(`a.tab${key === tab ? ".active" : ""}`, { href: `#/p/${id}/${key}`, "data-tab": key }, label,
          key === "data" ? h("span.count", {}, p.n_examples) : null))));
  }

  async function rename() {
    const input = h("input.input", { value: ctx.project.name });
    modal("Rename project", input, [["Cancel", "ghost"], ["Save", "primary", async () => {
      if (!input.value.trim()) { toast("Give the project a name.", "error"); input.focus(); return false; }
      try { await patch(`/projects/${id}`, { name: input.value }); await ctx.refresh(); } catch (err) {
        if (!leftGone(err)) { toast(err.message, "error"); return false; }
      }
    }]]);
  }

  function remove() {
    modal(`Delete “${ctx.project.name}”?`, h("p", {}, "Its examples and every model version will be deleted. This cannot be undone."),
      [["Cancel", "ghost"], ["Delete", "danger", async () => {
        try { await del(`/projects/${id}`); } catch (err) {
          if (!leftGone(err)) { toast(err.message, "error"); return false; }  // the dialog stays
          return;
        }
        toast(`Deleted “${ctx.project.name}”.`, "good");
        location.hash = "#/";
      }]]);
  }

  /** After a 404 on the project itself (deleted in another tab or by a script), say so in the
   * user's terms, not the API's ("… List projects with GET /api/projects."), and go to the list. */
  function leftGone(err) {
    if (err.status !== 404) return false;
    toast(`“${ctx.project.name}” no longer exists: it was deleted elsewhere.`, "warn", 8000);
    location.hash = "#/";
    return true;
  }

  ctx.showJob = (job) => showBanner(banner, job, ctx);
  // a job watched from here trained a new current version: the tabs that show it catch up
  ctx.jobDone = () => {
    if (!content.isConnected || !REDRAWN.has(tab)) return;  // the page was left, or shows no version
    if (tab === "test" && content.querySelector(".result-card")) return showNewVersion(content, ctx);  // keep the answers there
    const shown = tab === "results" ? Number(location.hash.match(/\/results\/(\d+)/)?.[1]) || undefined : undefined;
    VIEWS[tab](content, ctx, shown).catch((err) => toast(err.message, "error"));
  };
  renderHeader();
  root.replaceChildren(header, banner, content);
  if (project.active_job && tab !== "train") watchJob(ctx, project.active_job); // the Train tab watches itself
  await VIEWS[tab](content, ctx, version || undefined);
}

function showBanner(banner, job, ctx) {
  const active = job && (job.status === "queued" || job.status === "running");
  const lost = job?.status === "lost";  // polling stopped: say why until the page is left
  banner.hidden = !(active || lost) || ctx.tab === "train";
  banner.classList.toggle("lost", lost);
  banner.setAttribute("role", lost ? "alert" : "status");
  if (lost) return banner.replaceChildren(h("span", { "data-testid": "job-lost" }, job.message), h("div.spacer"), job.action);
  if (!active) return;
  banner.replaceChildren(
    h("span.spinner"), h("span", {}, `Training · ${STAGES[job.stage] || job.stage || STAGES[job.status] || job.status}`),
    h("div.bar.slim", {}, h("i", { style: { width: `${Math.round(100 * job.progress)}%` } })),
    h("a", { href: `#/p/${ctx.id}/train` }, "details"));
}

