// The Data tab: one card per class; drop images (or paste texts) into a card; drag an image, or
// use an example's move button (keyboard too), to relabel it.
import { get, post, patch, del, authUrl, uploadInChunks } from "./api.js";
import { h, modal, toast, dropZone, classColor, plural, icon, mount } from "./ui.js";

const pending = new Map(); // project id -> Set of class names created here but still empty
const SHOWN = 23;
const MAX_NAME = 100;  // the server's limit on a class name, in characters

export async function renderData(root, ctx) {
  const extra = pending.get(ctx.id) || new Set();
  pending.set(ctx.id, extra);
  const names = [...new Set([...ctx.classes(), ...extra])];
  const nameInput = h("input.input", { placeholder: ctx.project.modality === "image" ? "New class, e.g. bees" : "New class, e.g. positive", "data-testid": "class-name", "aria-label": "New class name" });
  const addClass = () => {
    const name = nameInput.value.trim();
    if (!name) return nameInput.focus();
    const problem = classNameProblem(name, names);
    if (problem) return toast(problem, "error");
    extra.add(name);
    redraw(root, ctx);
  };
  nameInput.addEventListener("keydown", (e) => { if (e.key === "Enter") addClass(); });
  const toolbar = h("div.toolbar", {},
    h("div.add-class", {}, nameInput, h("button.primary", { onclick: addClass, "data-testid": "add-class", "data-refocus": "class-name" }, "Add class")),
    h("div.spacer"),
    ctx.project.modality === "image" ? zipButton(ctx, root) : tableButton(ctx, root));
  const render = (ctx.dataRender = (ctx.dataRender || 0) + 1);
  const cards = await Promise.all(names.map((name) => classCard(name, ctx, root, names)));
  if (render !== ctx.dataRender) return; // a newer render started meanwhile
  const grid = h("div.class-grid", {}, cards, names.length === 1
    ? h("div.class-card.ghost-card", {}, h("p.muted", {}, "Add a second class: a classifier needs at least two.")) : null);
  const focused = refocusTarget(root);
  mount(root, toolbar, names.length ? grid : hint(ctx));
  if (focused) [...root.querySelectorAll("[data-testid]")].find((el) => el.dataset.testid === focused)?.focus();
  else if (!names.length && [null, document.body].includes(document.activeElement)) nameInput.focus();  // a new project: name its first class
}

/** The test id of the control to focus once the tab is drawn again, where the focus is in it now:
 * the same control (the class-name box after Enter), or the one a button names (``data-refocus``:
 * the texts box after "Add texts"). The redraw replaces them all, and the focus went to <body>. */
function refocusTarget(root) {
  const el = document.activeElement;
  if (!el || !root.contains(el)) return null;
  return el.dataset.refocus || el.dataset.testid || null;
}

/** Draw the tab again from an event handler, where nothing awaits it: a failure is shown. */
function redraw(root, ctx) {
  return renderData(root, ctx).catch((err) => toast(err.message, "error"));
}

/** A class created here stops being pending once the server has examples of it: an upload
 * whose files were all skipped leaves it, empty, for the next try. */
function settle(name, ctx) {
  if (ctx.project.classes[name]) pending.get(ctx.id)?.delete(name);
}

/** Why `name` cannot be a new class name (as the server checks it), or "" when it can. */
function classNameProblem(name, existing) {
  if (!name) return "A class name cannot be empty.";
  if (/[\/\\]/.test(name)) return "Class names cannot contain '/' or '\\'.";
  if (name === "." || name === "..") return `A class cannot be named '${name}'.`;
  const length = [...name].length;  // characters, as the server counts them: not UTF-16 units
  if (length > MAX_NAME) return `A class name can have at most ${MAX_NAME} characters; this one has ${length}. Shorten it.`;
  if (existing.includes(name)) return `Class '${name}' already exists.`;
  return "";
}

function hint(ctx) {
  return h("div.empty.small", {}, h("div.empty-art", {}, icon(ctx.project.modality === "image" ? "folder" : "text", 44)),
    h("h2", {}, "Add your classes"),
    h("p.muted", {}, ctx.project.modality === "image"
      ? "Name a class, then drop its images onto it. Or upload a .zip with one folder per class."
      : "Name a class, then paste its texts one per line. Or upload a CSV with text and label columns."));
}

async function classCard(name, ctx, root, names) {
  const count = ctx.project.classes[name] || 0;
  const color = classColor(name, names);
  const card = h("div.class-card", { "data-class": name, style: { "--accent": color } });
  const head = h("div.class-head", {},
    h("span.dot", { style: { background: color } }), h("b", { title: name }, name), h("span.count", {}, count),
    h("div.spacer"),
    h("button.icon.rename-class", { title: "Rename class", "aria-label": `Rename class ${name}`, onclick: () => renameClass(name, ctx, root) }, icon("pencil", 16)),
    h("button.icon", { title: "Delete class", "aria-label": `Delete class ${name}`, onclick: () => deleteClass(name, ctx, root) }, icon("trash", 16)));
  card.append(head);
  if (ctx.project.modality === "image") await imageBody(card, name, count, ctx, root);
  else await textBody(card, name, count, ctx, root);
  return card;
}

async function imageBody(card, name, count, ctx, root) {
  const body = h("div.drop", { "data-testid": `drop-${name}` });
  const thumbs = h("div.thumbs");
  if (count) {
    const page = await get(`/projects/${ctx.id}/examples?label=${encodeURIComponent(name)}&limit=${SHOWN}`);
    for (const e of page.items) thumbs.append(thumb(e, ctx, root));
    if (count > SHOWN) thumbs.append(moreButton(name, count, SHOWN, ctx, (e, before) => thumbs.insertBefore(thumb(e, ctx, root), before),
      (text) => h("button.more", { type: "button", title: "Show more of this class" }, text)));
  }
  if (count) body.append(thumbs, h("div.drop-more.muted.small", {}, icon("upload", 14), " Drop more images, or drag one to another class"));
  else body.append(h("div.drop-hint", {}, h("div.big-icon", {}, icon("upload", 30)), h("div", {}, "Drop images here"), h("div.muted.small", {}, "or click to browse")));
  const status = h("div.upload-status", { hidden: true });
  body.append(status);
  dropZone(body, async (files) => {
    status.hidden = false;
    try {
      const report = await uploadInChunks(`/projects/${ctx.id}/examples`, files, { label: name },
        (done, total) => { status.textContent = `Uploading ${done}/${total}…`; });
      reportUpload(report, name);
      await ctx.refresh();
      settle(name, ctx);
      redraw(root, ctx);
    } catch (err) { toast(err.message, "error"); status.hidden = true; }
  });
  // Drag an example from another class onto this card to relabel it.
  card.addEventListener("dragover", (e) => { if (e.dataTransfer.types.includes("application/x-handful-example")) { e.preventDefault(); card.classList.add("dragging"); } });
  card.addEventListener("dragleave", () => card.classList.remove("dragging"));
  card.addEventListener("drop", async (e) => {
    const id = e.dataTransfer.getData("application/x-handful-example");
    card.classList.remove("dragging");
    if (!id) return;
    e.preventDefault();
    try { await patch(`/projects/${ctx.id}/examples/${id}`, { label: name }); await ctx.refresh(); redraw(root, ctx); } catch (err) { toast(err.message, "error"); }
  });
  card.append(body);
}

function thumb(e, ctx, root) {
  const el = h("div.thumb", { draggable: "true", title: `${e.name} — drag to another class to relabel` },
    h("img", { src: authUrl(`${e.url}?size=160`), alt: e.name, loading: "lazy" }),
    moveButton(e, ctx, root),
    h("button.remove", { title: "Delete example", onclick: (ev) => {
      ev.stopPropagation();  // not the drop zone's file picker
      deleteExample(e, ctx, root);
    } }, "×"));
  el.addEventListener("dragstart", (ev) => ev.dataTransfer.setData("application/x-handful-example", String(e.id)));
  return el;
}

/** Delete example `e`. A failure is shown, not swallowed; after a 404 (deleted elsewhere) the
 * page catches up, so a stale thumbnail does not stay. */
async function deleteExample(e, ctx, root) {
  let failed = null;
  try { await del(`/projects/${ctx.id}/examples/${e.id}`); } catch (err) { failed = err; toast(err.message, "error"); }
  if (failed && failed.status !== 404) return;
  try { await ctx.refresh(); await renderData(root, ctx); } catch (err) { if (!failed) toast(err.message, "error"); }
}

/** A button that moves example `e` to another class (the keyboard's way to relabel). */
function moveButton(e, ctx, root) {
  const what = e.name || e.text || "example";
  return h("button.move", { type: "button", title: "Move to another class", "aria-label": `Move ${what} to another class`,
    onclick: (ev) => {
      ev.stopPropagation();  // not the drop zone's file picker
      const others = ctx.classes().filter((c) => c !== e.label);
      if (!others.length) return toast("Add another class first, then move examples into it.", "error");
      const select = h("select.input", { "aria-label": "Class" }, others.map((c) => h("option", { value: c }, c)));
      modal(`Move “${what.length > 60 ? `${what.slice(0, 57)}…` : what}” to`, select, [["Cancel", "ghost"], ["Move", "primary", async () => {
        try { await patch(`/projects/${ctx.id}/examples/${e.id}`, { label: select.value }); }
        catch (err) { toast(err.message, "error"); return false; }
        await ctx.refresh().then(() => renderData(root, ctx)).catch((err) => toast(err.message, "error"));
        toast(`Moved to ${select.value}`, "good");
      }]]);
    } }, "⇄");
}

/** A button that loads the class's next examples (100 at a time) in front of itself. */
function moreButton(name, count, shown, ctx, insert, make) {
  let offset = shown;
  const button = make(`+${count - shown}`);
  button.addEventListener("click", async (ev) => {
    ev.stopPropagation();  // not the drop zone's file picker
    let page;
    try { page = await get(`/projects/${ctx.id}/examples?label=${encodeURIComponent(name)}&limit=100&offset=${offset}`); }
    catch (err) { return toast(err.message, "error"); }  // the button stays: click again to retry
    for (const e of page.items) insert(e, button);
    offset += page.items.length;
    if (!page.items.length || offset >= count) (button.closest("li.muted") || button).remove();
    else button.textContent = make(`+${count - offset}`).textContent;
  });
  return button;
}

async function textBody(card, name, count, ctx, root) {
  const list = h("ul.texts");
  if (count) {
    const page = await get(`/projects/${ctx.id}/examples?label=${encodeURIComponent(name)}&limit=6`);
    const item = (e) => h("li", { title: e.text }, e.text, moveButton(e, ctx, root),
      h("button.remove", { title: "Delete", onclick: () => deleteExample(e, ctx, root) }, "×"));
    for (const e of page.items) list.append(item(e));
    if (count > 6) list.append(h("li.muted", {}, moreButton(name, count, 6, ctx, (e, before) => list.insertBefore(item(e), before.closest("li")),
      (text) => h("button.ghost.small", { type: "button" }, text.replace("+", "show ") + " more"))));
  }
  const area = h("textarea.input", { rows: 3, placeholder: "Paste texts, one per line", "data-testid": `texts-${name}`, "aria-label": `Texts of ${name}, one per line` });
  const add = h("button.secondary.small", { "data-refocus": `texts-${name}`, onclick: async () => {
    const texts = area.value.split("\n").map((t) => t.trim()).filter(Boolean);
    if (!texts.length) return area.focus();
    try {
      reportUpload(await post(`/projects/${ctx.id}/examples/texts`, { texts, label: name }), name);
      await ctx.refresh();
      settle(name, ctx);
      redraw(root, ctx);
    } catch (err) { toast(err.message, "error"); }
  } }, "Add texts");
  if (count) card.append(list);
  card.append(h("div.text-add", {}, area, add));
}

/** A toast for an upload's report; `label` names the class it went to (a zip or table: none). */
function reportUpload(r, label) {
  const parts = [`Added ${plural(r.n_added, "example")}${label ? ` to ${label}` : ""}`];
  if (r.n_duplicates) {
    const elsewhere = [...new Set((r.duplicates || []).map((d) => d.label).filter(Boolean))];
    parts.push(`${r.n_duplicates} already there${elsewhere.length ? ` (in ${elsewhere.slice(0, 3).join(", ")})` : ""}`);
  }
  if (r.n_skipped) {
    const reasons = r.skipped.slice(0, 3).map((x) => `${x.name}: ${x.reason}`).join("; ");
    parts.push(`${r.n_skipped} skipped (${reasons}${r.n_skipped > 3 ? "; …" : ""})`);
  }
  if (r.n_truncated) parts.push(`${plural(r.n_truncated, "text")} cut to ${r.truncated[0].kept} characters`);
  const warnings = r.warnings || [];  // what `handful train` would warn: a header read as a row, latin-1, ...
  parts.push(...warnings.slice(0, 2));
  if (warnings.length > 2) parts.push(`${warnings.length - 2} more warnings`);
  const warn = r.n_skipped || r.n_truncated || warnings.length;
  toast(parts.join(" · "), warn ? "warn" : "good", warn ? 8000 : 4200);
}

function zipButton(ctx, root) {
  const input = h("input", { type: "file", accept: ".zip,application/zip", hidden: true });
  input.addEventListener("change", async () => {
    const form = new FormData();
    form.append("file", input.files[0]);
    toast("Uploading archive…");
    try { reportUpload(await post(`/projects/${ctx.id}/examples/zip`, form)); await ctx.refresh(); redraw(root, ctx); } catch (err) { toast(err.message, "error"); }
    input.value = "";
  });
  return h("div", {}, input, h("button.secondary", { onclick: () => input.click(), title: "A .zip with one folder per class" }, icon("upload", 16), "Upload .zip of class folders"));
}

function tableButton(ctx, root) {
  const input = h("input", { type: "file", accept: ".csv,.tsv,.txt,.gz", hidden: true });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = "";
    await uploadTable(file, ctx, root);
  });
  return h("div", {}, input, h("button.secondary", { onclick: () => input.click() }, icon("upload", 16), "Upload CSV / TSV"));
}

/** Upload a table; when the server cannot tell its text and label columns, ask, then retry. */
async function uploadTable(file, ctx, root, fields = {}) {
  const form = new FormData();
  form.append("file", file);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  try {
    reportUpload(await post(`/projects/${ctx.id}/examples/table`, form)); await ctx.refresh(); redraw(root, ctx);
  } catch (err) {
    const columns = /column/.test(err.message) && !fields.text_column ? await headerColumns(file) : [];
    if (columns.length < 2) return toast(err.message, "error");
    const pick = (name, preset) => h("select.input", { "aria-label": name }, columns.map((c, i) => h("option", { value: c, selected: i === preset }, c)));
    const text = pick("Text column", 0), label = pick("Label column", 1);
    modal("Which columns?", h("div.form", {}, h("p.muted.small", {}, `handful could not tell which columns of ${file.name} hold the texts and the labels.`),
      h("label", {}, "Text column", text), h("label", {}, "Label column", label)),
    [["Cancel", "ghost"], ["Upload", "primary", () => { uploadTable(file, ctx, root, { text_column: text.value, label_column: label.value }); }]]);
  }
}

/** The column names on the first line of a CSV/TSV file (tab, semicolon or comma separated). */
async function headerColumns(file) {
  const first = (await file.slice(0, 65536).text()).split(/\r?\n/)[0] || "";
  const delimiter = ["\t", ";", ","].find((d) => first.includes(d)) || ",";
  return first.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, "$1")).filter(Boolean);
}

function renameClass(name, ctx, root) {
  const input = h("input.input", { value: name });
  modal(`Rename class “${name}”`, input, [["Cancel", "ghost"], ["Rename", "primary", async () => {
    const set = pending.get(ctx.id);
    const next = input.value.trim();
    if (next === name) return;
    const problem = classNameProblem(next, [...ctx.classes(), ...(set || [])]);
    if (problem) { toast(problem, "error"); return false; }
    if (set?.has(name)) { set.delete(name); set.add(next); await redraw(root, ctx); return focusClass(root, next); }
    try { await patch(`/projects/${ctx.id}/classes/${encodeURIComponent(name)}`, { name: input.value }); } catch (err) { toast(err.message, "error"); return false; }
    const retrain = ctx.project.current_version ? " Retrain for the model to use the new name." : "";
    await ctx.refresh().then(() => renderData(root, ctx)).catch((err) => toast(err.message, "error"));
    focusClass(root, next);
    toast(`Renamed ${name} to ${next}.${retrain}`, "good");
  }]]);
}

function deleteClass(name, ctx, root) {
  const set = pending.get(ctx.id);
  const next = neighbour(root, name);
  if (set?.has(name) && !ctx.project.classes[name]) { set.delete(name); redraw(root, ctx).then(() => focusClass(root, next)); return; }
  modal(`Delete class “${name}”?`, h("p", {}, `Its ${plural(ctx.project.classes[name] || 0, "example")} will be deleted.`),
    [["Cancel", "ghost"], ["Delete", "danger", async () => {
      let res;
      try { res = await del(`/projects/${ctx.id}/classes/${encodeURIComponent(name)}`); } catch (err) { toast(err.message, "error"); return false; }
      const n = res?.deleted ?? ctx.project.classes[name] ?? 0;
      await ctx.refresh().then(() => renderData(root, ctx)).catch((err) => toast(err.message, "error"));
      focusClass(root, next);
      toast(`Deleted class ${name} and its ${plural(n, "example")}.`, "good");
    }]]);
}

/** The class whose card follows `name`'s (the one before it for the last): where the focus goes
 * once `name` is deleted; undefined when it is the only one. */
function neighbour(root, name) {
  const shown = [...root.querySelectorAll(".class-card[data-class]")].map((card) => card.dataset.class);
  const i = shown.indexOf(name);
  return shown[i + 1] ?? shown[i - 1];
}

/** Focus class `name`'s rename button, or the new-class box when there is no such class: the
 * redraw after a rename or delete replaced the button that opened the dialog, and the focus
 * went to <body>, where Tab starts again at the top of the page. */
function focusClass(root, name) {
  const card = [...root.querySelectorAll(".class-card[data-class]")].find((c) => c.dataset.class === name);
  (card?.querySelector(".rename-class") || root.querySelector("[data-testid=class-name]"))?.focus();
}
