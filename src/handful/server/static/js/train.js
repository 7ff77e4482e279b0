// The Train tab: options, the start button, live progress, and the job history.
import { get, post } from "./api.js";
import { h, toast, pct, ago } from "./ui.js";
import { every } from "./app.js";

/** The job's stages (as the server's training reports them) in the user's words. */
export const STAGES = { queued: "Waiting for the worker", starting: "Starting the worker", embedding: "Embedding examples",
  augmenting: "Embedding augmented views", selecting: "Choosing the best head", evaluating: "Cross-validating",
  advice: "Measuring the learning curve", saving: "Saving the model", done: "Done",
  decoding: "Decoding images", "fine-tuning": "Fine-tuning the backbone", "refit on all images": "Refitting on all images" };

/** Each project's training options as last chosen while the page is open: a finished job
 * redraws the tab, and the form kept the user's choices only until then. */
const CHOICES = new Map();

export async function renderTrain(root, ctx) {
  const info = ctx.state.info;
  const modality = ctx.project.modality;
  const chosen = CHOICES.get(ctx.id) || {};
  const remember = () => CHOICES.set(ctx.id, { backbone: backbone.value, head: head.value, augment: augment.value, finetune: finetune.checked });
  const select = (name, options, value, disabled, title) => {
    const pick = options.some(([v]) => v === chosen[name]) && !disabled ? chosen[name] : value;  // a choice still offered
    return h("select.input", { name, disabled, title, onchange: remember },
      options.map(([v, label]) => h("option", { value: v, selected: v === pick }, label)));
  };
  const backbone = select("backbone", [["auto", "Automatic (recommended)"], ...info.backbones[modality].map((b) => [b, b])], "auto");
  const head = select("head", [["auto", "Automatic: best by cross-validation"], ["logistic", "Logistic regression"], ["prototype", "Prototypes (nearest class mean)"], ["knn", "k nearest neighbours"], ["mlp", "Small neural network"]], "auto");
  const augmentOk = info.features.augment && modality === "image";
  const augment = select("augment", [["none", "None"], ["light", "Light"], ["default", "Default"], ["strong", "Strong"]], "none",
    !augmentOk, augmentOk ? "Also train on augmented copies (flips, crops, colour)" : "Not available in this installation");
  const finetuneOk = info.features.finetune && modality === "image";  // the server tunes image backbones only
  const finetune = h("input", { type: "checkbox", name: "finetune", disabled: !finetuneOk, checked: finetuneOk && chosen.finetune, onchange: remember });
  const nClasses = ctx.classes().length;
  const start = h("button.primary.big", { "data-testid": "start-training", disabled: nClasses < 2 || ctx.project.active_job, onclick: async () => {
    start.disabled = true;
    let job;
    try {
      job = await post(`/projects/${ctx.id}/jobs`, { backbone: backbone.value, head: head.value, augment: augment.value, finetune: finetune.checked });
    } catch (err) { toast(err.message, "error"); start.disabled = false; return; }
    // the job is queued: it is watched whatever these reads answer
    await ctx.refresh().catch((err) => toast(err.message, "error"));
    await jobTable(ctx).then((table) => historyBox.replaceChildren(table),  // "No training yet." no more
      (err) => toast(err.message, "error"));
    watchJob(ctx, job.id);
  } }, ctx.project.current_version ? "Retrain" : "Train model");
  const progress = h("div.progress-card", { id: "progress", hidden: true });
  ctx.progressEl = progress;
  const historyBox = h("div.job-history", {}, await jobTable(ctx));
  root.replaceChildren(
    h("div.two-col", {},
      h("div.card", {},
        h("h3", {}, "Training"),
        h("p.muted.lead", {}, nClasses < 2 ? "Add examples of at least two classes on the Data tab first."
          : `${ctx.project.n_examples} examples in ${nClasses} classes. handful embeds them with a pretrained network, then picks the best classifier by cross-validation — usually in seconds.`),
        h("div.form", {},
          h("label", {}, "Backbone", backbone),
          h("label", {}, "Classifier head", head),
          h("label", {}, "Augmentation", augment),
          h("label.check", { title: finetuneOk ? "" : modality === "image" ? "Not available in this installation" : "Image projects only" }, finetune, "Fine-tune the backbone (slower)")),
        h("div.actions", {}, start)),
      h("div", {}, progress, h("div.card", {}, h("h3", {}, "History"), historyBox))));
  if (ctx.project.active_job) watchJob(ctx, ctx.project.active_job);
}

async function jobTable(ctx) {
  const jobs = await get(`/projects/${ctx.id}/jobs`);
  if (!jobs.length) return h("p.muted", {}, "No training yet.");
  return h("table.table", {}, h("thead", {}, h("tr", {}, ["#", "status", "model", "took", "when"].map((c) => h("th", {}, c)))),
    h("tbody", {}, jobs.slice(0, 12).map((j) => h("tr", { title: j.message, "data-job": j.id },
      h("td", {}, j.id), h("td", {}, h(`span.pill.${j.status}`, {}, j.status)),
      h("td", {}, j.version ? h("a", { href: `#/p/${ctx.id}/results/${j.version}` }, `v${j.version}`) : h("span.muted.small", {}, j.status === "failed" ? j.message.slice(0, 60) : "–")),
      h("td", {}, j.finished && j.started ? `${(j.finished - j.started).toFixed(1)} s` : "–"),
      h("td.muted", {}, ago(j.created))))));
}

function renderProgress(el, job, ctx) {
  el.hidden = false;
  const active = job.status === "queued" || job.status === "running";
  el.className = `progress-card ${job.status}`;
  el.replaceChildren(
    h("div.progress-head", {}, active ? h("span.spinner") : null,
      h("b", {}, active ? STAGES[job.stage] || job.stage || "Queued" : job.status === "succeeded" ? `Model v${job.version} is ready`
        : job.status === "lost" ? "Training progress unknown" : `Training ${job.status}`),
      h("div.spacer"), h("span.big-num", { "data-testid": "progress-value" }, pct(job.progress))),
    h("div.bar", {}, h("i", { style: { width: `${Math.round(100 * job.progress)}%` } })),
    h("div.progress-foot", {}, h("span.muted.small", {}, job.message || " "),
      active ? h("button.ghost.small", { onclick: () => post(`/jobs/${job.id}/cancel`).catch((err) => toast(err.message, "error")) }, "Cancel")
        : job.status === "succeeded" ? h("button.secondary.small", { onclick: () => ctx.go("results") }, "See results →")
          : job.status === "lost" ? job.action : null));
}

const RETRIES = 4;  // polls in a row that may fail (server busy or restarting) before giving up

/** Poll job `jobId` every 500 ms and show it: in the Train tab's progress card, in the banner of
 * the other tabs, and a toast when it ends. A poll that fails is shown like a failed job: a 404
 * (the job went with its project, deleted elsewhere) at once; a server that cannot be reached
 * (or errs) after RETRIES more tries; either way polling stops. */
export function watchJob(ctx, jobId) {
  let done = false, busy = false, misses = 0;
  const stop = () => { done = true; clearInterval(timer); };
  const watched = () => !done && ctx.state.timers.has(timer);  // false once the page was left
  const tick = async () => {
    if (!watched() || busy) return;  // one poll at a time, however slow the server
    busy = true;
    let job;
    try { job = await get(`/jobs/${jobId}`); misses = 0; } catch (err) {
      if (!watched()) return;
      if (err.status === 401) return stop();  // the token dialog has the page
      if (err.status === 404) {
        stop();
        return lostJob(ctx, `“${ctx.project.name}” no longer exists: it was deleted elsewhere, with its training job.`,
          h("a.button.secondary.small", { href: "#/" }, "Back to projects"));
      }
      if (++misses <= RETRIES && (err.status === 0 || err.status >= 500)) return;  // try again on the next tick
      stop();
      return lostJob(ctx, err.status === 0 ? "The server cannot be reached, so training progress stopped updating. Is `handful serve` still running?" : err.message,
        h("button.secondary.small", { onclick: () => { ctx.showJob?.(null); watchJob(ctx, jobId); } }, "Check again"));
    } finally { busy = false; }
    if (!watched()) return;
    ctx.showJob?.(job);
    if (ctx.progressEl && ctx.tab === "train") { renderProgress(ctx.progressEl, job, ctx); showInHistory(ctx.progressEl, job); }
    if (!["queued", "running"].includes(job.status)) {
      stop();
      await ctx.refresh().catch((err) => toast(err.message, "error"));
      if (job.status === "succeeded") toast(`Model v${job.version} trained`, "good");
      else if (job.status === "failed") toast(job.message, "error", 9000);
      if (ctx.tab === "train") renderTrain(ctx.progressEl.closest(".tab-content"), ctx).then(() => renderProgress(ctx.progressEl, job, ctx))
        .catch((err) => toast(err.message, "error"));
      else if (job.status === "succeeded") ctx.jobDone?.();  // a tab showing the current version shows the new one
    }
  };
  const timer = every(500, tick);
  tick();
}

/** The watched job's status in its History row, as its progress card shows it: the list was
 * read once, when the job had just been queued. */
function showInHistory(progressEl, job) {
  const pill = progressEl.closest(".tab-content")?.querySelector(`tr[data-job="${job.id}"] .pill`);
  if (!pill || pill.textContent === job.status) return;
  pill.className = `pill ${job.status}`;
  pill.textContent = job.status;
}

/** Where the job's progress was shown, say why it no longer is (`message`), as a failure is,
 * with `action`: a way on. */
function lostJob(ctx, message, action) {
  const lost = { status: "lost", progress: null, message, action };  // progress "–": not known
  toast(message, "error", 9000);
  ctx.showJob?.(lost);
  if (ctx.progressEl && ctx.tab === "train") renderProgress(ctx.progressEl, lost, ctx);
}
