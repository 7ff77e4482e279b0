// The Versions tab: every trained model, which one is live, roll back, download, compare two.
import { get, post, authUrl } from "./api.js";
import { h, toast, pct, ago, icon, validationScore } from "./ui.js";
import { definedScores } from "./charts.js";

export async function renderVersions(root, ctx) {
  const versions = await get(`/projects/${ctx.id}/versions`);
  if (!versions.length) {
    root.replaceChildren(h("div.empty.small", {}, h("div.empty-art", {}, icon("layers", 44)), h("h2", {}, "No versions yet"), h("p.muted", {}, "Each training run adds an immutable version here.")));
    return;
  }
  // the ticked versions, in the order they were ticked (the newest counts as ticked last): at most two
  const chosen = versions.slice(0, 2).map((v) => v.number).reverse();
  const compare = h("div.compare");
  const boxes = new Map();  // version number -> its checkbox
  const tick = (number, on) => {
    chosen.splice(0, chosen.length, ...chosen.filter((n) => n !== number), ...(on ? [number] : []));
    // a third tick compares it with the one ticked last before it, and unticks the other
    for (const n of chosen.splice(0, Math.max(0, chosen.length - 2))) boxes.get(n).checked = false;
    showCompare(compare, ctx, [...chosen].sort((a, b) => a - b));
  };
  const onnx = ctx.state.info.features.export_onnx && ctx.project.modality === "image";
  const table = h("table.table.versions", {},
    h("thead", {}, h("tr", {}, ["compare", "version", "accuracy", "examples", "model", "trained", "", ""].map((c) => h("th", {}, c)))),
    h("tbody", {}, versions.map((v) => h(`tr${v.current ? ".current" : ""}`, {},
      h("td", {}, box(v.number)),
      h("td", {}, h("b", {}, `v${v.number}`), v.current ? h("span.chip.good", {}, "live") : null),
      accuracyCell(v.metrics),
      h("td", {}, v.n_examples),
      h("td.small", {}, `${v.backbone} · ${v.head.split("(")[0]}`),
      h("td.muted", {}, ago(v.created)),
      h("td", {}, v.current ? null : h("button.secondary.small", { "data-testid": `activate-${v.number}`, onclick: async () => {
        try { await post(`/projects/${ctx.id}/versions/${v.number}/activate`); } catch (err) { toast(err.message, "error"); return; }
        await ctx.refresh().then(() => renderVersions(root, ctx)).catch((err) => toast(err.message, "error"));
        toast(`v${v.number} is now live`, "good");
      } }, "Make live")),
      h("td", {}, h("a.small", { href: authUrl(`/api/projects/${ctx.id}/versions/${v.number}/export?format=bundle`) }, "download"),
        onnx ? [" · ", h("a.small", { href: authUrl(`/api/projects/${ctx.id}/versions/${v.number}/export?format=onnx`) }, "ONNX")] : null)))));
  function box(number) {
    const input = h("input", { type: "checkbox", checked: chosen.includes(number), "aria-label": `Compare v${number}`,
      onchange: () => { if (versions.length > 1) tick(number, input.checked); } });
    boxes.set(number, input);
    return input;
  }
  root.replaceChildren(h("div.card", {}, h("h3", {}, "Versions"), h("p.muted.small", {}, "Versions never change. Predictions use the live one; make an older one live to roll back."), table), compare);
  if (versions.length === 1) {  // "tick two" with one to tick: say how a second one comes
    compare.replaceChildren(h("p.muted", { "data-testid": "compare-hint" }, "Train again after adding or fixing examples: each run adds a version, and you can compare two here."));
    return;
  }
  showCompare(compare, ctx, [...chosen].sort((a, b) => a - b));
}

/** Cross-validated accuracy, or a fine-tuned version's validation accuracy, saying which it is;
 * under it, when the head was chosen on the same folds, what is left allowing for that choice. */
function accuracyCell(metrics) {
  const val = validationScore(metrics);
  const [value, kind, title] = metrics.accuracy != null
    ? [metrics.accuracy, "CV", "cross-validated: out-of-fold predictions on the project's examples"]
    : val == null ? [null, "", "not measured: too few examples per class to hold some out"]
      : val.refit
        ? [val.value, "validation, before refit", "fine-tuned: scored on its validation split before the model was refit on all images, those included (not cross-validated)"]
        : [val.value, "validation", "fine-tuned: scored on its held-out validation split (not cross-validated)"];
  const adjusted = choiceAdjusted(metrics);
  const score = adjusted && `${pct(adjusted.value, 1)}${adjusted.key === "accuracy" ? "" : " balanced accuracy"}`;
  const why = adjusted == null ? "" : `. The model was the best of several candidates on these same folds, which flatters it: allowing for that choice, about ${score} on new data`;
  return h("td", { title: title + why, "data-testid": "version-accuracy" }, pct(value, 1), kind ? h("span.muted.small", {}, ` ${kind}`) : null,
    adjusted == null ? null : h("div.muted.small", { "data-testid": "version-adjusted" }, `≈ ${score} allowing for the choice`));
}

/** The metrics a head is chosen by on the folds, and their names in the comparison: balanced
 * accuracy where the classes were imbalanced (largest ≥ 1.5× smallest), else accuracy. */
const CHOSEN_BY = { accuracy: "Accuracy", balanced_accuracy: "Balanced accuracy" };

/** The metric a version's head was chosen by (the metrics keep `cv_<metric>` for it, as the
 * server's training and `handful train` write them); null where nothing was chosen. */
const chosenBy = (metrics) => Object.keys(CHOSEN_BY).find((key) => metrics[`cv_${key}`] != null) ?? null;

/** The selection-adjusted score (as the Results note gives it) where choosing among candidates
 * on the folds flattered it, as {key, value} in the metric the choice was made by; null where
 * nothing was chosen or it cost nothing. The bias of the choice (the leaderboard's repeated-CV
 * score less its adjusted one) is taken off the out-of-fold score shown beside it: taken off the
 * leaderboard's 75.0%, it read "66.7% CV / ≈ 70.8% allowing for the choice". */
function choiceAdjusted(metrics) {
  const key = chosenBy(metrics);
  const [cv, adjusted] = key ? [metrics[`cv_${key}`], metrics[`cv_${key}_adjusted`]] : [];
  if (adjusted == null || !(cv - adjusted >= 0.0005)) return null;
  const shown = metrics[key] ?? cv;  // no out-of-fold score: the leaderboard's is the one adjusted
  return { key, value: Math.max(0, shown - (cv - adjusted)) };
}

/** A version's best estimate of its `key` score on new data: adjusted for the choice of head where
 * that choice, made by this metric, flattered it, else its cross-validated score; null where the
 * head was chosen by the other metric, whose adjustment says nothing of this one. */
function honestScore(metrics, key) {
  const by = chosenBy(metrics);
  if (by != null && by !== key) return null;
  const adjusted = choiceAdjusted(metrics);
  return adjusted ? adjusted.value : metrics[key];
}

async function showCompare(box, ctx, numbers) {
  const asked = (box.dataset.asked = numbers.join());  // a later tick's answer is the one shown
  if (numbers.length < 2) { box.replaceChildren(h("p.muted", {}, "Tick two versions to compare them.")); return; }
  let a, b;
  try { [a, b] = await Promise.all(numbers.map((n) => get(`/projects/${ctx.id}/versions/${n}`))); } catch (err) {
    if (box.dataset.asked !== asked) return;
    box.replaceChildren(h("p.muted", {}, `v${numbers[0]} and v${numbers[1]} could not be compared.`));  // not a stale comparison
    return toast(err.message, "error");
  }
  if (box.dataset.asked !== asked) return;
  const ea = a.report.evaluation, eb = b.report.evaluation;
  const row = (label, va, vb, fmt = (x) => x, better = null) => {
    const delta = better && va != null && vb != null ? vb - va : null;
    return h("tr", {}, h("td.wrap", {}, label), h("td", {}, fmt(va)), h("td", {}, fmt(vb)),
      h("td", {}, delta == null ? "" : h(`span.delta.${delta > 0.0005 ? "up" : delta < -0.0005 ? "down" : "same"}`, {}, delta > 0 ? `+${(100 * delta).toFixed(1)}` : (100 * delta).toFixed(1))));
  };
  const [fa, fb] = [ea, eb].map((ev) => (ev ? definedScores(ev) : {}));  // "–" where F1 is undefined
  const [va, vb] = [a, b].map((v) => validationScore(v.metrics));
  const tuned = va != null || vb != null;
  const refit = va?.refit || vb?.refit;  // scored before a refit on all images: not the saved model
  const adjusted = new Set([a, b].map((v) => choiceAdjusted(v.metrics)?.key).filter(Boolean));
  const honestRow = (key) => (adjusted.has(key)
    ? row(`${CHOSEN_BY[key]}, allowing for the choice`, honestScore(a.metrics, key), honestScore(b.metrics, key), (x) => pct(x, 1), true) : null);
  box.replaceChildren(h("div.card", { "data-testid": "compare" }, h("h3", {}, `v${a.number} → v${b.number}`),
    h("table.table.compact", {}, h("thead", {}, h("tr", {}, ["", `v${a.number}`, `v${b.number}`, "Δ points"].map((c) => h("th", {}, c)))),
      h("tbody", {},
        row("Accuracy (CV)", ea?.accuracy, eb?.accuracy, (x) => pct(x, 1), true),
        honestRow("accuracy"),
        tuned ? row(refit ? "Validation accuracy (before refit)" : "Validation accuracy", va?.value, vb?.value, (x) => pct(x, 1), true) : null,
        row("Balanced accuracy", ea?.balanced_accuracy, eb?.balanced_accuracy, (x) => pct(x, 1), true),
        honestRow("balanced_accuracy"),
        row("Examples", a.n_examples, b.n_examples),
        row("Head", a.head.split("(")[0], b.head.split("(")[0]),
        pairClasses(a, b).map(([ca, cb]) => row(`F1 · ${classLabel(ca, cb)}`, fa[ca]?.f1, fb[cb]?.f1, (x) => pct(x), true))))));
}

const classLabel = (ca, cb) => (ca == null ? cb : cb == null || cb === ca ? ca : `${cb} (was ${ca})`);

/** The classes of versions a and b as [name in a, name in b] pairs (null where a version lacks
 * the class), matched by their names now: a class renamed between the two is one row, not an
 * old name and a new name each half empty. */
function pairClasses(a, b) {
  const [pa, pb] = [a, b].map(classKeys);
  const inA = new Set(pa.map(([, key]) => key)), inB = new Map(pb.map(([c, key]) => [key, c]));
  return pa.map(([c, key]) => [c, inB.get(key) ?? null])
    .concat(pb.filter(([, key]) => !inA.has(key)).map(([c]) => [null, c]));
}

/** A version's classes, in its report's order, as [name, key]: the key is the name now, and a
 * class renamed since claims it first (a deleted class whose name a rename reused keeps apart). */
function classKeys(v) {
  const names = v.report.evaluation?.classes || [];
  const renamed = new Map(Object.entries(v.renamed_since || {}));  // a class may be named 'constructor'
  const taken = new Set(), keys = new Map();
  for (const c of [...names].sort((x, y) => Number(!renamed.has(x)) - Number(!renamed.has(y)))) {
    const now = renamed.get(c) ?? c;
    const key = taken.has(now) ? `${now}\u0000${c}` : now;
    taken.add(key);
    keys.set(c, key);
  }
  return names.map((c) => [c, keys.get(c)]);
}
