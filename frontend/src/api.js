// Session-authenticated calls to the segments API (CSRF token from the form or cookie).

function csrfToken(root) {
  const form = root && root.closest("form");
  const input = form && form.querySelector('input[name="csrfmiddlewaretoken"]');
  if (input && input.value) return input.value;
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `Request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

async function request(url, { method = "GET", body, root, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken(root);
  }
  const res = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

const withQuery = (url, params) => `${url}${url.includes("?") ? "&" : "?"}${new URLSearchParams(params)}`;
const results = (data) => (Array.isArray(data) ? data : (data && data.results) || []);

export const fetchFields = (cfg, site, signal) =>
  request(withQuery(cfg.fieldsUrl, { site, limit: 1000 }), { signal }).then(results);

export const fetchSegments = (cfg, site, signal) =>
  request(withQuery(cfg.segmentsUrl, { site, limit: 1000 }), { signal }).then(results);

export const fetchAudience = (cfg, root, body, signal) =>
  request(cfg.audienceUrl, { method: "POST", body, root, signal });

export const fetchPreview = (cfg, root, body, signal) =>
  request(cfg.previewUrl, { method: "POST", body, root, signal });

export const fetchSegment = (cfg, pk, signal) =>
  request(`${cfg.segmentsUrl.replace(/\/?$/, "/")}${encodeURIComponent(pk)}/`, { signal });

export const fetchEventProperties = (cfg, site, event, signal) =>
  request(withQuery(cfg.eventPropertiesUrl, { site, event }), { signal });
