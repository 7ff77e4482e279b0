// DOM helpers: h() builds elements, toasts, modals, formatting.

export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "class") el.className += ` ${value}`;
    else if (key === "style" && typeof value === "object") {
      for (const [prop, v] of Object.entries(value)) {
        if (prop.startsWith("--")) el.style.setProperty(prop, v); else el.style[prop] = v;
      }
    }
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const svgNS = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function toast(message, kind = "info", ms = 4200) {
  const box = h(`div.toast.${kind}`, { role: kind === "error" ? "alert" : "status" }, message);
  document.getElementById("toasts").append(box);
  setTimeout(() => box.classList.add("leaving"), ms);
  setTimeout(() => box.remove(), ms + 400);
}

/** A dialog with `actions` ([label, class, fn]: fn returning false keeps it open). `onDismiss`
 * runs when it is closed without an action: Escape, a click beside it, or leaving the page. */
export function modal(title, body, actions, { onDismiss } = {}) {
  const backdrop = h("div.backdrop");
  const opener = document.activeElement;
  const dismiss = () => { if (backdrop.isConnected) { close(); onDismiss?.(); } };
  const close = () => {
    if (!backdrop.isConnected) return;
    backdrop.remove();
    document.removeEventListener("keydown", keys);
    window.removeEventListener("hashchange", dismiss);
    if (opener?.isConnected) opener.focus();  // focus goes back where it was
  };
  const buttons = actions.map(([label, cls, fn]) =>
    h(`button.${cls}`, { onclick: async () => { if ((await fn?.()) !== false) close(); } }, label));
  const dialog = h("div.modal", { role: "dialog", "aria-modal": "true", "aria-label": title },
    h("h2", {}, title), body, h("div.modal-actions", {}, buttons));
  backdrop.append(dialog);
  backdrop.addEventListener("mousedown", (e) => { if (e.target === backdrop) dismiss(); });
  function keys(e) {
    if (e.key === "Escape") return dismiss();
    if (e.key === "Enter" && ["INPUT", "SELECT"].includes(e.target.tagName)) { e.preventDefault(); buttons.at(-1)?.click(); }  // Enter submits
    if (e.key === "Tab") {  // keep focus inside the dialog
      const focusable = [...dialog.querySelectorAll("button,input,textarea,select,a[href]")].filter((el) => !el.disabled);
      const [first, last] = [focusable[0], focusable.at(-1)];
      if (!dialog.contains(document.activeElement)) { e.preventDefault(); first?.focus(); }
      else if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last?.focus(); }
      else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first?.focus(); }
    }
  }
  document.addEventListener("keydown", keys);
  window.addEventListener("hashchange", dismiss);  // Back or a link: the dialog was about the page left
  document.body.append(backdrop);
  (dialog.querySelector("input,textarea,select") || buttons[0])?.focus();  // Cancel first: Enter never deletes by itself
  return close;
}

export const pct = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? "–" : `${(100 * v).toFixed(digits)}%`);
/** A fine-tuned version's validation accuracy, or null: `val_accuracy_before_refit` (refit: true)
 * when the model was then refit on all images, validation ones too, so the score is of the model
 * before that refit (as `handful finetune` records it), not of the saved one. */
export const validationScore = (metrics) => (metrics.val_accuracy != null
  ? { value: metrics.val_accuracy, refit: false }
  : metrics.val_accuracy_before_refit != null ? { value: metrics.val_accuracy_before_refit, refit: true } : null);
export const ago = (t) => {
  const sec = Math.max(1, Math.round(Date.now() / 1000 - t));
  if (sec < 60) return `${sec}s ago`;
  if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)} h ago`;
  return new Date(t * 1000).toLocaleDateString();
};
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : word.endsWith("s") ? "es" : "s"}`;

// Line icons (24x24, stroke); drawn here so no icon font or emoji font is needed.
const ICONS = {
  trash: ["M4 7h16", "M9 7V4h6v3", "M6 7l1 13h10l1-13", "M10 11v6", "M14 11v6"],
  pencil: ["M4 20h4L19 9l-4-4L4 16z", "M13 7l4 4"],
  upload: ["M12 16V4", "M7 9l5-5 5 5", "M4 20h16"],
  search: ["M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z", "M15.5 15.5L21 21"],
  image: ["M3 5h18v14H3z", "M3 16l5-5 5 5 3-3 5 5", "M15.5 9.5a1.5 1.5 0 1 0 0-.01"],
  chart: ["M4 4v16h16", "M8 15l4-5 3 3 5-7"],
  layers: ["M12 3l9 5-9 5-9-5z", "M3 13l9 5 9-5"],
  text: ["M5 6h14", "M5 11h14", "M5 16h9"],
  flask: ["M9 3h6", "M10 3v6L4.5 19a1.5 1.5 0 0 0 1.3 2h12.4a1.5 1.5 0 0 0 1.3-2L14 9V3", "M7 15h10"],
  folder: ["M3 6h6l2 2h10v11H3z"],
};
export function icon(name, size = 18) {
  return s("svg", { viewBox: "0 0 24 24", width: size, height: size, fill: "none", stroke: "currentColor",
    "stroke-width": 1.8, "stroke-linecap": "round", "stroke-linejoin": "round", class: "icon-svg", "aria-hidden": "true" },
  (ICONS[name] || []).map((d) => s("path", { d })));
}

/** Replace the children of `root`, skipping null/false entries. */
export function mount(root, ...children) {
  root.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** A drop target that also opens a file picker on click. onFiles receives an array of Files. */
export function dropZone(el, onFiles, { accept = "image/*", multiple = true } = {}) {
  const input = h("input", { type: "file", accept, multiple, hidden: true, class: "file-input" });
  input.addEventListener("change", () => { if (input.files.length) onFiles([...input.files]); input.value = ""; });
  el.append(input);
  el.addEventListener("click", (e) => { if (!e.target.closest("button,a,.thumb")) input.click(); });
  // reachable without a mouse: Tab to the zone, Enter or Space opens the file picker
  if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
  if (!el.hasAttribute("aria-label")) el.setAttribute("aria-label", "Drop files here, or press Enter to choose them");
  el.addEventListener("keydown", (e) => {
    if (e.target === el && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); input.click(); }
  });
  el.addEventListener("dragover", (e) => {
    if ([...e.dataTransfer.types].includes("Files")) { e.preventDefault(); el.classList.add("dragging"); }
  });
  el.addEventListener("dragleave", () => el.classList.remove("dragging"));
  el.addEventListener("drop", (e) => {
    el.classList.remove("dragging");
    if (!e.dataTransfer.files.length) return;
    e.preventDefault();
    onFiles([...e.dataTransfer.files]);
  });
  return input;
}

// A color for each class, stable by name.
const PALETTE = ["#6366f1", "#ec4899", "#14b8a6", "#f59e0b", "#8b5cf6", "#ef4444", "#0ea5e9", "#22c55e", "#f97316", "#64748b"];
export function classColor(name, classes) {
  const i = classes ? classes.indexOf(name) : [...name].reduce((a, c) => a + c.charCodeAt(0), 0);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}
