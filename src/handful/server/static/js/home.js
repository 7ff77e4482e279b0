// The projects screen: cards for every project and the "new project" dialog.
import { get, post, authUrl } from "./api.js";
import { h, modal, toast, ago, plural, icon } from "./ui.js";

export async function renderHome(root, state) {
  document.getElementById("crumbs").replaceChildren();
  const projects = await get("/projects");
  const grid = h("div.project-grid", {},
    projects.map((p) => projectCard(p)),
    h("button.project-card.new", { onclick: newProject },
      h("div.plus", {}, "+"), h("div", {}, "New project")));
  root.replaceChildren(
    h("section.hero", {},
      h("div", {}, h("h1", {}, "Your classifiers"),
        h("p.muted", {}, "Drop a handful of examples per class, train in seconds on this machine, test, improve, export.")),
      h("button.primary.big", { onclick: newProject, "data-testid": "new-project" }, "New project")),
    projects.length ? grid : emptyState());
  fillPreviews(projects);
}

function projectCard(p) {
  const classes = Object.keys(p.classes);
  return h("a.project-card", { href: `#/p/${p.id}/data`, "data-project": p.id },
    h("div.preview", { id: `preview-${p.id}` }, p.modality === "text" ? h("div.text-preview", {}, icon("text", 40)) : null),
    h("div.card-body", {},
      h("div.card-title", {}, h("span", {}, p.name), h(`span.badge.${p.modality}`, {}, p.modality)),
      h("div.muted.small", {}, `${plural(classes.length, "class")} · ${plural(p.n_examples, "example")}`),
      h("div.card-foot", {},
        p.current_version ? h("span.chip.good", {}, `v${p.current_version}`) : h("span.chip", {}, "not trained"),
        p.active_job ? h("span.chip.busy", {}, "training…") : null,
        h("span.muted.small", {}, ago(p.created)))));
}

async function fillPreviews(projects) {
  for (const p of projects.filter((x) => x.modality === "image" && x.n_examples)) {
    const page = await get(`/projects/${p.id}/examples?limit=200`).catch(() => null);
    const box = document.getElementById(`preview-${p.id}`);
    if (!page || !box) continue;
    const byClass = new Map(); // newest example of each class first, then more to fill 4 slots
    for (const e of page.items) if (!byClass.has(e.label)) byClass.set(e.label, e);
    const shown = [...byClass.values(), ...page.items.filter((e) => ![...byClass.values()].includes(e))].slice(0, 4);
    box.replaceChildren(...shown.map((e) => h("img", { src: authUrl(`${e.url}?size=160`), alt: "", loading: "lazy" })));
  }
}

function emptyState() {
  return h("div.empty", {},
    h("img.empty-logo", { src: "/static/logo.svg", alt: "", width: 64, height: 64 }),
    h("h2", {}, "Start with a handful"),
    h("p.muted", {}, "Five to twenty images per class are often enough: handful reuses a network pretrained on millions of images."),
    h("button.primary", { onclick: newProject }, "Create your first project"));
}

export function newProject() {
  const name = h("input.input", { placeholder: "e.g. ants vs bees", name: "project-name" });
  let modality = "image";
  const seg = h("div.segmented", {}, ["image", "text"].map((m) =>
    h(`button${m === modality ? ".on" : ""}`, {
      type: "button", "data-modality": m,
      onclick: (e) => { modality = m; seg.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b === e.currentTarget)); },
    }, icon(m === "image" ? "image" : "text", 16), m === "image" ? "Images" : "Texts")));
  modal("New project", h("div.form", {}, h("label", {}, "Name", name), h("label", {}, "What will it classify?", seg)),
    [["Cancel", "ghost"], ["Create project", "primary", async () => {
      if (!name.value.trim()) { toast("Give the project a name.", "error"); name.focus(); return false; }
      const length = [...name.value].length;  // a maxlength cut a pasted name without a word
      if (length > 100) { toast(`A project name can have at most 100 characters; this one has ${length}. Shorten it.`, "error"); name.focus(); return false; }
      try {
        const p = await post("/projects", { name: name.value, modality });
        location.hash = `#/p/${p.id}/data`;
      } catch (err) { toast(err.message, "error"); return false; }
    }]]);
}
