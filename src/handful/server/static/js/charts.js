// Charts without a library: confusion matrix (HTML grid), learning curve (SVG), probability bars.
import { h, s, pct, classColor } from "./ui.js";

export function confusionMatrix(matrix, classes) {
  const max = Math.max(1, ...matrix.flat());
  const n = classes.length;
  const grid = h("div.cm-grid", { style: { gridTemplateColumns: `minmax(70px, 30%) repeat(${n}, minmax(38px, 1fr))` } });
  grid.append(h("div.cm-corner", {}, h("span", {}, "true ↓ / predicted →")));
  for (const c of classes) grid.append(h("div.cm-head", { title: c }, c));
  matrix.forEach((row, i) => {
    grid.append(h("div.cm-rowhead", { title: classes[i] }, classes[i]));
    row.forEach((v, j) => {
      const alpha = v / max;
      const diag = i === j;
      const bg = diag ? `rgba(79,70,229,${0.08 + 0.85 * alpha})` : `rgba(239,68,68,${v ? 0.12 + 0.7 * alpha : 0})`;
      grid.append(h("div.cm-cell", {
        style: { background: bg, color: alpha > 0.55 ? "#fff" : "#1e1b4b" },
        title: `${classes[i]} predicted as ${classes[j]}: ${v}`,
      }, v));
    });
  });
  return h("div.cm", {}, grid);
}

/** Measured accuracy by examples per class (mean ± sd band), and, when the report has one, the
 * fitted forecast at 2×, 5× and 10× the data: hollow diamonds on a dashed line from the fitted
 * curve at the data's size (where the forecast's gains are counted from), each with its 10–90%
 * range as a whisker, and a legend naming both.
 *
 * The SVG is drawn at the width it is shown at, and again when that changes: scaled down from a
 * fixed drawing, its 11 px text was 8 px in a 400 px window. */
export function learningCurve(curve, { xLabel = "examples per class" } = {}) {
  const box = h("div.curve-chart");
  let drawnAt = 0, pending = false;
  const draw = () => {
    pending = false;
    if (!box.isConnected) return observer.disconnect();  // the page moved on
    const width = Math.round(box.clientWidth) || 420;
    if (width === drawnAt) return;
    drawnAt = width;
    const svg = curveSvg(curve, { width, height: Math.min(240, Math.max(190, Math.round(0.5 * width))), xLabel });
    const old = box.querySelector("svg.chart");
    if (old) old.replaceWith(svg); else box.prepend(svg);
  };
  // redrawn in the next frame, not inside the observer: a redraw changes the box's height
  const observer = new ResizeObserver(() => { if (!pending) { pending = true; requestAnimationFrame(draw); } });
  observer.observe(box);
  if (!curve.forecast?.length) return box;  // older versions, or trained without the data-need estimate
  const key = (cls, label) => h("span", {}, s("svg", { viewBox: "0 0 26 10", class: `key ${cls}` },
    s("line", { x1: 1, x2: 25, y1: 5, y2: 5 }), cls === "measured"
      ? s("circle", { cx: 13, cy: 5, r: 3.2 }) : s("polygon", { points: "13,1 17,5 13,9 9,5" })), label);
  box.append(h("div.chart-legend", { "data-testid": "curve-legend" },
    key("measured", "measured (± 1 sd)"), key("forecast", "forecast (10–90% range)")));
  return box;
}

/** The chart as an SVG ``width`` × ``height`` user units, shown at that many pixels. */
function curveSvg(curve, { width, height, xLabel }) {
  const pad = { l: 44, r: 16, t: 14, b: 34 };
  const xs = curve.sizes, ys = curve.accuracy, sd = curve.std || ys.map(() => 0);
  const forecast = (curve.forecast || []).filter((f) => f && f.n_per_class > 0 && f.accuracy != null)
    .map((f) => ({ ...f, range: f.range || [f.accuracy, f.accuracy] }));
  // the forecast's gains are counted from the fitted curve at the data's size; a report without
  // that point (older versions) starts the line at the last measured one, as it was drawn then
  const now = forecast.length ? fittedNow(curve) : null;
  const allX = xs.concat(forecast.map((f) => f.n_per_class), now ? [now[0]] : []);
  const maxX = Math.max(...allX), minX = Math.min(...allX);
  // the axis starts at a multiple of 10%, and its gridlines fall on whole tens: a line labeled
  // 62% was drawn at 62.5%
  const lows = ys.map((y, i) => y - sd[i]).concat(forecast.map((f) => f.range[0]), now ? [now[1]] : []);
  const minY = Math.max(0, Math.floor(10 * (Math.min(...lows) - 0.05) + 1e-9) / 10);
  const step = 1 - minY > 0.5 ? 0.2 : 0.1;
  // sizes grow geometrically (1, 2, 3, 5, 8, ...): a log axis spreads them evenly
  const log = minX > 0 ? Math.log : (v) => v;
  const x = (v) => pad.l + ((log(v) - log(minX)) / Math.max(1e-9, log(maxX) - log(minX))) * (width - pad.l - pad.r);
  const y = (v) => pad.t + (1 - (v - minY) / Math.max(0.01, 1 - minY)) * (height - pad.t - pad.b);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart", role: "img", "aria-label": "learning curve" });
  for (let k = 0; minY + k * step <= 1 + 1e-9; k++) {
    const v = minY + k * step;
    svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, pct(v)));
  }
  svg.append(...xTicks(xs, forecast, now, x, height - pad.b + 16),
    s("text", { x: (width + pad.l) / 2, y: height - 4, "text-anchor": "middle", class: "axis-label" }, xLabel));
  const band = xs.map((v, i) => `${x(v)},${y(Math.min(1, ys[i] + sd[i]))}`)
    .concat(xs.map((v, i) => `${x(v)},${y(Math.max(minY, ys[i] - sd[i]))}`).reverse());
  svg.append(s("polygon", { points: band.join(" "), class: "band" }));
  svg.append(s("polyline", { points: xs.map((v, i) => `${x(v)},${y(ys[i])}`).join(" "), class: "line" }));
  if (forecast.length) svg.append(forecastSeries(forecast, now || [xs[xs.length - 1], ys[ys.length - 1]], Boolean(now), x, y));
  xs.forEach((v, i) => svg.append(s("circle", { cx: x(v), cy: y(ys[i]), r: 4, class: "dot" },
    s("title", {}, `${Number(v).toFixed(1)} per class: ${pct(ys[i], 1)}`))));
  return svg;
}

/** [examples per class in the data, the fitted curve's accuracy there], or null when the report
 * does not say (the server's curve carries them since the forecast is drawn from there). */
function fittedNow(curve) {
  const { n_per_class: n, accuracy_now: acc } = curve;
  return n > 0 && acc != null ? [n, acc] : null;
}

/** The x axis labels, from the right so the largest size is always labeled, none closer than
 * 28 px to the next (about two labels' width at 11 px). */
function xTicks(xs, forecast, now, x, baseline) {
  const ticks = xs.map((v) => [v, "axis"]).concat(forecast.map((f) => [f.n_per_class, "axis forecast-axis"]),
    now ? [[now[0], "axis now-axis"]] : []).sort((a, b) => b[0] - a[0]);
  let lastLabel = Infinity;
  return ticks.filter(([v]) => {
    if (lastLabel - x(v) < 28) return false;
    lastLabel = x(v);
    return true;
  }).map(([v, cls]) => s("text", { x: x(v), y: baseline, "text-anchor": "middle", class: cls }, count(v)));
}

const count = (v) => (Number.isInteger(v) ? String(v) : v >= 10 ? String(Math.round(v)) : v.toFixed(1));

/** The forecast as an SVG group: a faint 10–90% cone and a dashed line from ``from`` ([size,
 * accuracy]: the fitted curve at the data's size, marked with a dot when ``fitted``, else the
 * last measured point), and at each forecast a whisker over its range and a hollow diamond whose
 * tooltip states the numbers. */
function forecastSeries(forecast, from, fitted, x, y) {
  const [x0, y0] = [x(from[0]), y(from[1])];
  const g = s("g", { class: "forecast", "data-testid": "forecast" });
  const cone = [`${x0},${y0}`].concat(forecast.map((f) => `${x(f.n_per_class)},${y(f.range[1])}`),
    forecast.map((f) => `${x(f.n_per_class)},${y(f.range[0])}`).reverse());
  g.append(s("polygon", { points: cone.join(" "), class: "forecast-band" }),
    s("polyline", { points: [`${x0},${y0}`].concat(forecast.map((f) => `${x(f.n_per_class)},${y(f.accuracy)}`)).join(" "),
      class: "forecast-line" }));
  if (fitted) {
    const text = `the fitted curve at ${count(from[0])} per class (all your examples): ${pct(from[1], 1)}; ` +
      "the forecast's gains are counted from here";
    g.append(s("circle", { cx: x0, cy: y0, r: 3.5, class: "forecast-now", "data-testid": "forecast-now", "aria-label": text },
      s("title", {}, text)));
  }
  for (const f of forecast) {
    const cx = x(f.n_per_class), cy = y(f.accuracy), [lo, hi] = f.range.map(y);
    const gain = f.gain != null ? `, ${f.gain >= 0 ? "+" : "−"}${Math.abs(100 * f.gain).toFixed(1)} points` : "";
    const text = `forecast at ${count(f.n_per_class)} per class: ${pct(f.accuracy, 1)}${gain} ` +
      `(10–90% range ${pct(f.range[0], 1)}–${pct(f.range[1], 1)})`;
    g.append(s("g", { class: "forecast-point", "data-n": f.n_per_class, "aria-label": text },
      s("title", {}, text),
      s("line", { x1: cx, x2: cx, y1: lo, y2: hi, class: "whisker" }),
      s("line", { x1: cx - 4, x2: cx + 4, y1: lo, y2: lo, class: "whisker" }),
      s("line", { x1: cx - 4, x2: cx + 4, y1: hi, y2: hi, class: "whisker" }),
      s("polygon", { points: `${cx},${cy - 5} ${cx + 5},${cy} ${cx},${cy + 5} ${cx - 5},${cy}`, class: "forecast-dot" })));
  }
  return g;
}

export function probabilityBars(top, classes) {
  return h("div.probs", {}, top.map((p, i) =>
    h(`div.prob${i === 0 ? ".best" : ""}`, {},
      h("div.prob-label", {}, h("span.dot", { style: { background: classColor(p.label, classes) } }), p.label),
      h("div.prob-track", {}, h("div.prob-fill", { style: { width: `${(100 * p.probability).toFixed(1)}%`, background: classColor(p.label, classes) } })),
      h("div.prob-value", {}, pct(p.probability, 1)))));
}

const UNDEFINED = {
  precision: "never predicted, so precision and F1 are undefined",
  recall: "no examples of this class were scored, so recall and F1 are undefined",
};

/** The report's per-class scores with null where a score is undefined, as the CLI shows '-':
 * precision of a class never predicted (its confusion-matrix column sums to 0), recall of one
 * with no examples (its row sums to 0), and F1 of either. The report's JSON keeps 0.0 for both. */
export function definedScores(ev) {
  const matrix = ev.confusion_matrix || [];
  const predicted = ev.classes.map((_, j) => matrix.reduce((sum, row) => sum + (row[j] || 0), 0));
  const actual = ev.classes.map((_, i) => (matrix[i] || []).reduce((sum, v) => sum + v, 0));
  return Object.fromEntries(Object.entries(ev.per_class).map(([c, m]) => {
    const i = ev.classes.indexOf(c);
    const never = i >= 0 && matrix.length > 0 && predicted[i] === 0;
    const absent = i >= 0 && matrix.length > 0 && actual[i] === 0;
    return [c, { ...m, precision: never ? null : m.precision, recall: absent ? null : m.recall,
      f1: never || absent ? null : m.f1, why: never ? UNDEFINED.precision : absent ? UNDEFINED.recall : "" }];
  }));
}

export function metricBars(ev) {
  const scores = definedScores(ev);
  const cell = (m, k) => (m[k] == null
    ? h("td.undefined", { title: m.why }, h("span", { "aria-label": "undefined" }, "–"))
    : h("td", {}, h("div.minibar", {}, h("i", { style: { width: `${100 * m[k]}%` } }), h("span", {}, pct(m[k])))));
  const table = h("table.table.compact", { "data-testid": "per-class" },
    h("thead", {}, h("tr", {}, ["class", "precision", "recall", "F1", "n"].map((c) => h("th", {}, c)))),
    h("tbody", {}, Object.entries(scores).map(([c, m]) => h("tr", { "data-class": c },
      h("td.wrap", {}, h("span.dot", { style: { background: classColor(c, ev.classes) } }), c),
      ...["precision", "recall", "f1"].map((k) => cell(m, k)),
      h("td.num", {}, m.support)))));
  const reasons = [...new Set(Object.values(scores).map((m) => m.why).filter(Boolean))];
  return reasons.length
    ? [table, h("p.muted.small.legend", { "data-testid": "undefined-legend" }, reasons.map((r) => h("span", {}, `– ${r}.`)))]
    : table;
}
