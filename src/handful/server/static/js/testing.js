// The Test tab: drop images (or type texts) and see the class probabilities;
// then add it as an example with the right label, to retrain.
import { post, uploadInChunks } from "./api.js";
import { h, toast, dropZone, icon, plural, pct } from "./ui.js";
import { probabilityBars } from "./charts.js";

export async function renderTest(root, ctx) {
  if (!ctx.project.current_version) {
    root.replaceChildren(h("div.empty.small", {}, h("div.empty-art", {}, icon("flask", 44)), h("h2", {}, "Train a model first"),
      h("a.button.primary", { href: `#/p/${ctx.id}/train` }, "Go to training")));
    return;
  }
  const results = h("div.test-results");
  const model = h("span", { "data-testid": "test-model" }, `Model v${ctx.project.current_version}`);
  if (ctx.project.modality === "image") {
    const zone = h("div.test-drop", { "data-testid": "test-drop" },
      h("div.big-icon", {}, icon("search", 40)), h("h3", {}, "Drop images to test"),
      h("p.muted", {}, `One or several, up to ${MAX_TESTED} at a time · `, model, " · or click to pick files"));
    const sure = sureControl(ctx);
    dropZone(zone, (files) => { const at = minConfidence(sure); if (at !== undefined) testImages(files, ctx, results, at); });
    root.replaceChildren(zone, h("div.sure-row", {}, sure), results);
    if (ctx.state.info.features.suggest) root.append(suggestCard(ctx));
  } else {
    const area = h("textarea.input", { rows: 4, placeholder: "Type or paste texts to classify, one per line", "data-testid": "test-text", "aria-label": "Texts to classify, one per line" });
    const go = h("button.primary", { "data-testid": "classify", onclick: async () => {
      go.disabled = true;  // the first request loads the model: it can take seconds
      const at = minConfidence(sure);
      try { if (at !== undefined) await testTexts(area.value, ctx, results, at); } finally { go.disabled = false; }
    } }, "Classify");
    const sure = sureControl(ctx);
    root.replaceChildren(h("div.card", {}, area, h("div.actions", {}, go, sure, h("span.muted.small", {}, model))), results);
  }
}

/** A job watched from the page made version `current_version` live while the tab shows answers
 * (kept, not redrawn): the model label names it, and a note above the answers says which of them
 * an older version gave, to test again. */
export function showNewVersion(root, ctx) {
  const live = ctx.project.current_version;
  const label = root.querySelector("[data-testid=test-model]");
  if (label) label.textContent = `Model v${live}`;
  const results = root.querySelector(".test-results");
  if (results) markOlderAnswers(results, live);
}

/** The note above ``results`` naming the versions of its answers (``data-version``) other than
 * ``live``; removed when all are by it. */
function markOlderAnswers(results, live) {
  const cards = [...results.querySelectorAll(".result-card[data-version]")];
  const older = [...new Set(cards.map((c) => Number(c.dataset.version)).filter((n) => n !== live))].sort((a, b) => a - b);
  cards.forEach((c) => c.classList.toggle("older", Number(c.dataset.version) !== live));
  results.querySelector("[data-testid=older-answers]")?.remove();
  if (!older.length) return;
  const by = older.map((n) => `v${n}`).join(", ");
  const some = cards.some((c) => Number(c.dataset.version) === live) ? "Some answers below are" : "Answers below are";
  results.prepend(h("div.older-answers.small", { "data-testid": "older-answers", role: "status" },
    `${some} by ${by}; v${live} is live now — test again to see its answers.`));
}

const MAX_TESTED = 24;

/** Each project's "answer only when at least N% sure" while the page is open (a percentage as
 * typed; empty is off): kept across tabs, not stored (localStorage keeps the API token only). */
const SURE = new Map();

function sureControl(ctx) {
  const input = h("input.input.inline.percent", { type: "number", min: 1, max: 99, step: "any", placeholder: "off",
    value: SURE.get(ctx.id) ?? "", "data-testid": "min-confidence", "aria-label": "Answer only when at least this many percent sure; empty to always answer",
    oninput: () => SURE.set(ctx.id, input.value) });
  return h("label.sure.small", { title: "Under this probability the model gives no answer, only its best guess. Leave empty to always answer." },
    "Answer only when at least ", input, "% sure");
}

/** The control's threshold as the API takes it (0–1), null when off; undefined, after saying
 * so, when it is not a percentage between 0 and 100. */
function minConfidence(label) {
  const input = label.querySelector("input");
  if (input.value.trim() === "" && !input.validity.badInput) return null;
  const percent = Number(input.value);
  if (input.validity.badInput || !(percent > 0 && percent < 100)) {
    toast(`"Answer only when sure" takes a percentage between 0 and 100, not "${input.value}": change it, or empty it to always answer.`, "warn", 8000);
    input.focus();
    return undefined;
  }
  return percent / 100;
}

async function testImages(files, ctx, results, minConfidence) {
  try { await testEach(files, ctx, results, minConfidence); } finally {
    // new answers under a note about older ones: the note counts them in
    if (results.querySelector("[data-testid=older-answers]")) markOlderAnswers(results, ctx.project.current_version);
  }
}

async function testEach(files, ctx, results, minConfidence) {
  if (files.length > MAX_TESTED) toast(`Testing the first ${MAX_TESTED} of ${files.length} images; drop the rest in another batch.`, "warn", 8000);
  for (const file of files.slice(0, MAX_TESTED)) {
    const form = new FormData();
    form.append("files", file, file.name);
    const card = h("div.result-card.loading", {}, h("img", { src: URL.createObjectURL(file), alt: file.name }), h("div.result-body", {}, h("span.spinner")));
    results.prepend(card);
    try {
      const started = performance.now();
      const sure = minConfidence == null ? "" : `&min_confidence=${minConfidence}`;
      const res = await post(`/projects/${ctx.id}/predict?top_k=5${sure}`, form);  // capped at the model's classes
      const ms = performance.now() - started;
      const pred = res.predictions[0];
      card.classList.remove("loading");
      card.dataset.version = res.version;
      card.querySelector(".result-body").replaceChildren(
        h("div.result-title", {}, h("span.muted.small", {}, file.name), answer(pred)),
        ...[unsureNote(pred, minConfidence), unfamiliarNote(pred, "image")].filter(Boolean),  // replaceChildren would write null as "null"
        probabilityBars(pred.top, ctx.classes()),
        h("div.muted.small", {}, `v${res.version} · ${ms.toFixed(0)} ms`),
        addAsExample(file, pred.label, ctx));
    } catch (err) {
      card.classList.remove("loading");
      card.querySelector("img")?.remove();  // not an image the browser can show either
      card.querySelector(".result-body").replaceChildren(h("p.error", {}, err.message));
    }
  }
}

/** The answer, or "Not sure" where its top probability is under the threshold asked for (the
 * API's ``unsure``, with label null). */
const answer = (pred) => (pred.unsure
  ? h("h3.unsure-title", { "data-testid": "prediction" }, "Not sure")
  : h("h3", { "data-testid": "prediction" }, pred.label));

/** Under "Not sure": the best guess, and the threshold it fell under; styled as the note on an
 * input unlike the training examples, as both qualify an answer. */
function unsureNote(pred, minConfidence) {
  if (!pred.unsure) return null;
  const best = pred.top[0], asked = `${Number((100 * minConfidence).toFixed(1))}%`;
  return h("div.unsure.small", { "data-testid": "unsure", role: "note",
    title: `The model's top probability is under the ${asked} asked for, so it gives no answer; the bars show its guesses.` },
    `Best guess: ${best.label} (${pct(best.probability, 1)}), under the ${asked} asked for`);
}

/** A note when the API says the input is unlike the model's training examples (``familiar``
 * false); nothing when it looks like them, or when the model keeps none to compare with (null):
 * a class with a high probability is still a guess for, say, a car shown to an ants/bees model. */
function unfamiliarNote(pred, noun) {
  if (pred.familiar !== false) return null;
  const why = `This ${noun} is further from the model's training examples than 95% of those examples are ` +
    "from the rest (fewer than 5% of the project's own examples are this far), so its class may be a guess.";
  return h("div.unfamiliar.small", { "data-testid": "unfamiliar", role: "note", title: why },
    "Unlike the training examples — check this one");
}

function addAsExample(file, predicted, ctx) {
  // the model may predict a class deleted since it was trained: then the user picks, nothing is preselected
  const known = ctx.classes().includes(predicted);
  const select = h("select.input.inline", { "aria-label": "Correct class" },
    known ? null : h("option", { value: "", selected: true }, "choose…"),
    ctx.classes().map((c) => h("option", { value: c, selected: c === predicted }, c)));
  const button = h("button.secondary.small", { onclick: async () => {
    if (!select.value) { toast("Choose the class this image belongs to.", "warn"); return select.focus(); }
    try {
      const r = await uploadInChunks(`/projects/${ctx.id}/examples`, [file], { label: select.value });
      await ctx.refresh();
      toast(r.n_added ? `Added to ${select.value}. Retrain to learn from it.` : "Already an example.", "good");
      button.disabled = true;
    } catch (err) { toast(err.message, "error"); }
  } }, "Add as example");
  return h("div.add-example", {}, h("span.small", {}, "Correct class"), select, button);
}

async function testTexts(value, ctx, results, minConfidence) {
  const texts = value.split("\n").map((t) => t.trim()).filter(Boolean);
  if (!texts.length) return;
  results.replaceChildren(h("div.result-card.text.loading", {}, h("div.result-body", {}, h("span.spinner"),
    h("span.muted.small", {}, `Classifying ${plural(texts.length, "text")}…`))));
  try {
    const res = await post(`/projects/${ctx.id}/predict/texts`, { texts, top_k: 5, min_confidence: minConfidence });
    results.replaceChildren(...res.predictions.map((p) => h("div.result-card.text", { "data-version": res.version },
      h("div.result-body", {}, h("div.result-title", {}, h("span.muted.small", {}, p.input), answer(p)),
        unsureNote(p, minConfidence), unfamiliarNote(p, "text"), probabilityBars(p.top, ctx.classes())))));
  } catch (err) { results.replaceChildren(); toast(err.message, "error"); }
}

function suggestCard(ctx) {
  const list = h("div.suggestions");
  const zone = h("div.drop.slim-drop", { "data-testid": "suggest-drop" },
    h("div.drop-hint.slim", {}, icon("layers", 22), h("div", {}, h("b", {}, "Which ones to label next?"),
      h("div.muted.small", {}, "Drop a batch of unlabeled images: the ones that would teach the model most come first."))));
  dropZone(zone, async (files) => {
    const form = new FormData();
    for (const file of files.slice(0, 256)) form.append("files", file, file.name);
    list.replaceChildren(h("span.spinner"));
    try {
      const res = await post(`/projects/${ctx.id}/suggest?n=12`, form);
      list.replaceChildren(...res.suggestions.map((r) => h("div.suggestion", {},
        h("img", { src: URL.createObjectURL(files[r.index]), alt: r.input }),
        h("div.small", {}, h("b", {}, `#${r.rank} `), `${r.predicted} ${Math.round(100 * r.probability)}% or ${r.runner_up}`),
        ...[unfamiliarNote(r, "image")].filter(Boolean),  // as on a result card; replaceChildren would write null
        addAsExample(files[r.index], r.predicted, ctx))));
      if (!res.suggestions.length) list.replaceChildren(h("p.muted", {}, "No usable images."));
      else if (res.ranked_by === "typical") list.prepend(typicalNote());
      const held = heldBackNote(res);
      if (held) list.append(held);
      if (res.skipped?.length) {
        list.append(skippedNote(res.skipped));
        toast(`${plural(res.skipped.length, "file")} skipped: not ranked`, "warn", 8000);
      }
    } catch (err) { list.replaceChildren(); toast(err.message, "error"); }
  });
  return h("div.card.suggest-card", {}, zone, list);
}

/** Why the tiles are not the model's doubts: with under 2 examples per class the API lists typical
 * images of the groups no label covers yet (``ranked_by`` typical), as ``handful suggest`` does. */
function typicalNote() {
  return h("div.typical-note.small.muted", { "data-testid": "suggest-typical", role: "status",
    style: { gridColumn: "1 / -1" } },  // a row of its own above the tiles
    "With under 2 examples per class, these are typical examples of groups no label covers yet.");
}

/** How many images unlike the training examples the API ranked after the familiar ones and so
 * left out of the list (``n_unfamiliar`` less those listed); null when none, or when ranked mixed. */
function heldBackNote(res) {
  if (res.unfamiliar_ranked !== "last") return null;
  const listed = res.suggestions.filter((r) => r.familiar === false).length;
  // the API's count: a copy of a listed image left out is not held back for being unfamiliar
  const held = typeof res.n_held_back === "number" ? res.n_held_back : res.n_unfamiliar - listed;
  if (!(held > 0)) return null;
  const look = held === 1 ? "image looks" : "images look";
  return h("div.held-back.small", { "data-testid": "suggest-held-back", role: "status" },
    `${held}${listed ? " more" : ""} ${look} unlike the training examples and ${held === 1 ? "was" : "were"} held back: ` +
    "they come after the familiar ones. They may belong to no class, or be a new kind worth labeling.");
}

/** The files a request skipped, each with its reason (the first 8; then how many more). */
function skippedNote(skipped) {
  const shown = skipped.slice(0, 8);
  return h("div.skipped", { "data-testid": "suggest-skipped", role: "status" },
    h("b.small", {}, `${plural(skipped.length, "file")} skipped`),
    h("ul.small", {}, shown.map((x) => h("li", {}, h("span", {}, x.name), `: ${x.reason}`)),
      skipped.length > shown.length ? h("li.muted", {}, `… and ${skipped.length - shown.length} more`) : null));
}
