// The Results tab: accuracy with its interval, confusion matrix, per-class scores,
// learning curve with advice, likely label mistakes, and the head leaderboard.
import { get, patch, authUrl } from "./api.js";
import { h, toast, pct, plural, icon, mount, validationScore } from "./ui.js";
import { confusionMatrix, learningCurve, metricBars } from "./charts.js";

export async function renderResults(root, ctx, number) {
  // the project's classes now (renamed in another tab?): the relabel buttons offer only those
  const [versions] = await Promise.all([get(`/projects/${ctx.id}/versions`), ctx.refresh()]);
  if (!versions.length) {
    root.replaceChildren(h("div.empty.small", {}, h("div.empty-art", {}, icon("chart", 44)), h("h2", {}, "No model yet"),
      h("p.muted", {}, "Train a model to see its accuracy, confusion matrix and learning curve."),
      h("a.button.primary", { href: `#/p/${ctx.id}/train` }, "Go to training")));
    return;
  }
  if (number != null && !versions.some((x) => x.number === number)) {  // an old link, or a typo
    toast(`This project has no model v${number}; showing the current one.`, "warn");
    number = null;
  }
  number = number ?? ctx.project.current_version ?? versions[0].number;
  const v = await get(`/projects/${ctx.id}/versions/${number}`);
  const ev = v.report.evaluation;
  const picker = h("select.input.inline", { onchange: (e) => {
    history.replaceState(null, "", `#/p/${ctx.id}/results/${e.target.value}`);  // a reload or a shared link keeps it
    renderResults(root, ctx, Number(e.target.value)).catch((err) => toast(err.message, "error"));
  } },
    versions.map((x) => h("option", { value: x.number, selected: x.number === number }, `v${x.number}${x.current ? " (current)" : ""}`)));
  const tuned = v.report.finetune;
  const unscored = tuned ? "fine-tuned without a validation split (needs ≥ 3 images per class)" : "needs ≥ 2 examples per class";
  const val = validationScore(v.metrics);
  const tiles = h("div.tiles", {},
    ev || val == null
      ? tile("Accuracy", ev ? pct(ev.accuracy, 1) : "–", ev ? `95% CI ${pct(ev.accuracy_ci95[0])}–${pct(ev.accuracy_ci95[1])}` : unscored, "accuracy")
      : val.refit
        ? tile("Validation accuracy (before refit)", pct(val.value, 1), "fine-tuned; scored on its validation split before the model was refit on all images, those included", "accuracy")
        : tile("Validation accuracy", pct(val.value, 1), "fine-tuned; held-out validation split", "accuracy"),
    tile("Balanced accuracy", ev ? pct(ev.balanced_accuracy, 1) : "–", "mean recall over classes"),
    tile("Examples", v.n_examples, plural(v.classes.length, "class")),
    tile("Model", v.head.split("(")[0].replace("Head", ""), v.backbone));
  const measured = v.report.learning_curve || (tuned && epochCurve(tuned));
  // the fitted forecast (and the fitted accuracy at the data's size, where its gains start) rides
  // on the server's curve; a report with a separate `advice` (the CLI's) carries them there
  const fitted = measured?.forecast ? measured : v.report.advice || {};
  const curve = measured && { ...measured, forecast: fitted.forecast || null, n_per_class: fitted.n_per_class,
    accuracy_now: fitted.accuracy_now };
  mount(root,
    h("div.results-head", {}, h("h2", {}, "Model ", picker), h("span.muted.small", {}, ev ? ev.scheme : "")),
    tiles,
    confidenceLine(v.report.calibration, ev),
    h("div.two-col", {},
      h("div.card", {}, h("h3", {}, "Confusion matrix"),
        ev ? confusionMatrix(ev.confusion_matrix, ev.classes) : h("p.muted", {}, tuned
          ? "Fine-tuned versions are scored on their validation split only: no cross-validated confusion matrix."
          : "Add at least 2 examples per class to measure it."),
        ev ? h("p.muted.small", {}, ev.note) : null),
      h("div.card", {}, h("h3", {}, "Learning curve"),
        curve ? [learningCurve(curve, { xLabel: curve.xLabel }), h("p.advice", { "data-testid": "advice" }, curve.advice || curve.message || "")]
          : h("p.muted", {}, "Needs at least 3 examples per class."))),
    h("div.two-col", {},
      h("div.card", {}, h("h3", {}, "Per class"), ev ? metricBars(ev) : h("p.muted", {}, "–")),
      h("div.card", {}, h("h3", {}, "Worth a second look"), mistakes(ev, ctx, v.renamed_since))),
    leaderboard(v.report.leaderboard));
}

function tile(label, value, sub, testid) {
  return h("div.tile", { "data-testid": testid }, h("div.tile-label", {}, label), h("div.tile-value", {}, value), h("div.tile-sub", {}, sub));
}

const ECE = "Calibration error: how far the model's confidence is from how often it is right, " +
  "averaged over its answers in 10 bins of confidence (0% when it is exactly as sure as it is right).";

/** How the model's confidence was calibrated (the report's ``calibration``), in the words and
 * numbers of `handful train`'s "Confidence:" line; with a held-out evaluation (a CLI report),
 * how sure it was there against how often right. Nothing for a version saved without one. */
function confidenceLine(calibration, ev) {
  if (!calibration) return null;
  const error = () => h("span.term", { title: ECE }, "calibration error");
  let said;
  if (calibration.note) said = [calibration.note];  // "not calibrated: ... at least 20 are needed"
  else if (calibration.temperature === 1) {  // no other temperature fits the answers better
    said = [`left as it was: on the cross-validation answers the head was ${pct(calibration.cv_confidence_before, 1)} `
      + `sure and ${pct(calibration.cv_accuracy, 1)} right`];
  } else {
    const temperature = Number(calibration.temperature.toPrecision(2));  // as the CLI's {:.2g}
    said = [`calibrated on the cross-validation answers (temperature ${temperature}): `, error(),
      ` ${pct(calibration.cv_ece_before, 1)} → ${pct(calibration.cv_ece_after, 1)}`];
  }
  const held = ev?.confidence;
  if (held) {
    said.push(`; held-out: mean confidence ${pct(held.mean_confidence, 1)} for ${pct(ev.accuracy, 1)} right (`, error(),
      ` ${pct(held.ece, 1)})`);
  }
  return h("p.confidence-line", { "data-testid": "confidence", title: ECE }, h("b", {}, "Confidence: "), said);
}

/** ``renamed``: the version's classes renamed since it was trained, {old: name now} (``renamed_since``). */
function mistakes(ev, ctx, renamed) {
  if (!ev) return h("p.muted", {}, "–");
  if (!ev.mistakes.length) return h("p.muted", {}, "Every example was predicted correctly when it was held out.");
  const names = new Map(Object.entries(renamed || {}));  // a class may be named 'constructor'
  return h("div.mistakes", {}, h("p.muted.small", {}, "Held-out examples the model got wrong, least likely under their own label first: a wrong label, or a class that needs more examples."),
    ev.mistakes.slice(0, 8).map((m) => mistakeCard(m, ctx, names)));
}

/** One mistake of the report. The report is as old as its version: the card then asks the
 * server for the example now, so one moved or deleted since (here, on the Data tab, or in a
 * rename) says so instead of offering the same move again. A predicted class renamed since
 * (``names``: old -> now) is offered by its name now. */
function mistakeCard(m, ctx, names) {
  const id = Number((m.example.match(/^#(\d+)/) || [])[1]);
  const name = m.example.replace(/^#\d+ /, "");
  const predicted = names.get(m.predicted) ?? m.predicted;
  const looks = () => [", looks like ", ...(predicted === m.predicted ? [] : [h("s", {}, m.predicted), " "]),
    h("b", {}, predicted), ` (${pct(m.confidence)})`];
  const said = h("div.small", {}, "labeled ", h("b", {}, m.label), ...looks());
  const moved = (label) => {  // after a move the card says what happened, not "labeled bees, looks like bees"
    said.replaceChildren("moved from ", h("s", {}, m.label), " to ", h("b", {}, label));
    relabel.replaceChildren(h("div.small.moved", { "data-testid": "moved" }, "✓ Retrain to learn from it"));
  };
  const now = { ...m, predicted };  // the example's label and the predicted class's name now
  const relabel = id ? relabelControl(now, id, ctx, moved) : null;
  const note = h("div.small.muted", { hidden: true, "data-testid": "mistake-gone" }, "deleted since this version was trained");
  const gone = () => { img?.remove(); relabel?.remove(); note.hidden = false; };
  const img = ctx.project.modality === "image" && id ? h("img", { src: authUrl(`/api/projects/${ctx.id}/examples/${id}/file?size=160`), alt: "", onerror: gone }) : null;
  if (id) {
    get(`/projects/${ctx.id}/examples/${id}`).then((example) => {
      if (!name.startsWith(example.name.slice(0, 40))) return gone();  // ids come back after a delete: another example
      if (example.label === m.label) return;
      // its old class is still there: the example itself was moved (here or on the Data tab); not
      // when it is where its class's rename took it (two classes that swapped names)
      const renamedWith = names.get(m.label) === example.label;
      if (!renamedWith && (example.label === predicted || ctx.classes().includes(m.label))) return moved(example.label);
      now.label = example.label;  // its class was renamed: the relabel choice still stands
      said.replaceChildren("labeled ", h("s", {}, m.label), " ", h("b", {}, example.label), " since training", ...looks());
      relabel.refill();
    }).catch((err) => { if (err.status === 404) gone(); });  // else the card stays as the report has it
  }
  return h("div.mistake", { "data-example": id || null }, img, h("div", {}, h("div.small", {}, name), said, relabel, note));
}

/** "Relabel as <predicted>", or, when the report's class was renamed or deleted since training, a
 * choice of the project's classes now: the report's old name must not create that class again.
 * The server checks too (`existing=true`), for a page that went stale; it then offers the new ones. */
function relabelControl(m, id, ctx, onMoved) {
  const box = h("div.relabel");
  const move = async (label, controls) => {
    try {
      await patch(`/projects/${ctx.id}/examples/${id}?existing=true`, { label }); await ctx.refresh();
    } catch (err) {
      toast(err.message, "error");
      if (err.status === 409) await ctx.refresh().then(fill).catch((e) => toast(e.message, "error"));
      return;
    }
    controls.forEach((c) => { c.disabled = true; });
    onMoved(label);  // the card shows the move
    toast(`Moved to ${label}. Retrain to use it.`, "good");
  };
  function fill() {
    const classes = ctx.classes();
    if (classes.includes(m.predicted)) {
      const button = h("button.ghost.small", { "data-testid": "relabel", onclick: () => move(m.predicted, [button]) }, `Relabel as ${m.predicted}`);
      return box.replaceChildren(button);
    }
    const note = h("div.small.muted", {}, `'${m.predicted}' is not a class any more (renamed or deleted since this model was trained).`);
    const others = classes.filter((c) => c !== m.label);
    if (!others.length) return box.replaceChildren(note);
    const select = h("select.input.inline.small", { "data-testid": "relabel-class", "aria-label": "Class to relabel it as" },
      others.map((c) => h("option", { value: c }, c)));
    const button = h("button.ghost.small", { "data-testid": "relabel", onclick: () => move(select.value, [button, select]) }, "Relabel as");
    box.replaceChildren(note, h("div.relabel-row", {}, button, select));
  }
  fill();
  box.refill = fill;
  return box;
}

/** What the leaderboard's scores are: balanced accuracy when the classes were imbalanced. */
function scoreLabel(board) {
  if (board.metric !== "balanced_accuracy") return "CV accuracy";
  const sizes = board.selection && board.selection.class_sizes;
  return h("span", { "data-testid": "leaderboard-metric", title: "Mean of the classes' recalls: the classes are imbalanced"
    + (sizes ? ` (${sizes[0]} to ${sizes[1]} examples)` : "") + ", and plain accuracy would reward ignoring the small ones" },
  "CV balanced accuracy");
}

function leaderboard(board) {
  if (!board || !board.rows || board.rows.length < 2) return null;
  return h("div.card", {}, h("h3", {}, "How each classifier head scored"), h("p.muted.small", {}, board.scheme),
    h("table.table.compact", {}, h("thead", {}, h("tr", {}, ["#", "head", scoreLabel(board), "spread"].map((c) => h("th", {}, c)))),
      h("tbody", {}, board.rows.map((r, i) => h(`tr${i === 0 ? ".winner" : ""}`, {},
        h("td", {}, i + 1), h("td", {}, r.label), h("td", {}, pct(r.mean, 1)), h("td", {}, r.std == null ? "–" : `±${(100 * r.std).toFixed(1)}`))),
      // what always answering the largest class scores: the floor every head must beat
      board.baseline ? h("tr.baseline", { "data-testid": "baseline", title: "Always predicting the largest class" },
        h("td", {}, ""), h("td", {}, board.baseline.label), h("td", {}, pct(board.baseline.mean, 1)), h("td", {}, "")) : null)));
}

/** The validation curve of a fine-tuning run (``tuned``: the report's finetune summary); after a
 * refit the saved model is not epoch N's weights but N epochs again on all images. */
function epochCurve(tuned) {
  const history = tuned.history;
  const epochs = history.epochs.filter((e) => e.val_accuracy != null);
  if (epochs.length < 2) return null;
  const kept = tuned.refit
    ? `validation picked epoch ${history.best_epoch}, then the model was refit on all ${tuned.refit.n_train} images for that many epochs`
    : `kept the weights of epoch ${history.best_epoch}`;
  return { sizes: epochs.map((e) => e.epoch), accuracy: epochs.map((e) => e.val_accuracy), xLabel: "epoch",
    advice: `Fine-tuned; ${kept}${history.stopped_early ? " (stopped early)" : ""}, ${history.seconds_per_epoch.toFixed(1)} s per epoch.` };
}
