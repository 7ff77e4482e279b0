// Thin client for the handful HTTP API: JSON in/out, token from localStorage, errors as ApiError.
const TOKEN_KEY = "handful.token";

export const token = () => localStorage.getItem(TOKEN_KEY) || "";
export const setToken = (value) => localStorage.setItem(TOKEN_KEY, value.trim());

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export async function api(method, path, body) {
  const headers = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/api${path}`, { method, headers, body: payload });
  } catch (err) {
    throw new ApiError(0, "The server cannot be reached. Is `handful serve` still running?");
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({ detail: `${res.status} ${res.statusText}` }));
  if (!res.ok) {
    if (res.status === 401) window.dispatchEvent(new CustomEvent("handful:auth"));
    throw new ApiError(res.status, typeof data.detail === "string" ? data.detail : res.statusText);
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body ?? {});
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

/** A URL for <img src> or a download link (carries the token as a query parameter). */
export function authUrl(path) {
  if (!token()) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token())}`;
}

/** Upload files in chunks of `size`; calls onProgress(done, total). Returns merged reports. */
export async function uploadInChunks(path, files, fields, onProgress, size = 16) {
  const merged = { n_added: 0, n_duplicates: 0, n_skipped: 0, skipped: [], duplicates: [] };
  for (let i = 0; i < files.length; i += size) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    for (const file of files.slice(i, i + size)) form.append("files", file, file.name);
    const report = await post(path, form);
    merged.n_added += report.n_added;
    merged.n_duplicates += report.n_duplicates;
    merged.n_skipped += report.n_skipped;
    merged.skipped.push(...report.skipped);
    merged.duplicates.push(...report.duplicates);
    onProgress?.(Math.min(files.length, i + size), files.length);
  }
  return merged;
}
