// Entry: mounts a builder on every `[data-pz-builder]` element rendered by
// segments.builder.widgets.CriteriaBuilderWidget, and exposes the adapter for tests.
import "react-querybuilder/dist/query-builder.css";
import "./builder.css";
import React from "react";
import { createRoot } from "react-dom/client";
import * as adapter from "./adapter.js";
import { Builder } from "./Builder.jsx";
import { setLanguage, setServerLabels } from "./i18n.js";

function readConfig(el) {
  const d = el.dataset;
  return {
    fieldsUrl: d.fieldsUrl || "/api/v1/fields/",
    segmentsUrl: d.segmentsUrl || "/api/v1/segments/",
    audienceUrl: d.audienceUrl || "/api/v1/segments/audience",
    previewUrl: d.previewUrl || "/api/v1/segments/preview",
    eventPropertiesUrl: d.eventPropertiesUrl || "",
    siteField: d.siteField || "site",
    site: d.site || "",
    segmentKey: d.segmentKey || "",
    debounce: Number(d.debounce || 400),
  };
}

export function mount(el) {
  if (el.dataset.pzMounted) return;
  const textarea = el.querySelector("textarea.pz-source");
  if (!textarea) return;
  let initial;
  try {
    initial = textarea.value.trim() ? JSON.parse(textarea.value) : {};
  } catch {
    // Leave the plain textarea so that nothing the user typed is lost.
    el.querySelector(".pz-fallback-note")?.removeAttribute("hidden");
    return;
  }
  el.dataset.pzMounted = "1";
  // The widget's language (the request's) wins over <html lang>; its labels are the words
  // for enum values and built-in fields in that language.
  if (el.dataset.lang) setLanguage(el.dataset.lang);
  try {
    setServerLabels(el.dataset.labels ? JSON.parse(el.dataset.labels) : null);
  } catch {
    setServerLabels(null);
  }
  const container = document.createElement("div");
  container.className = "pz-builder-root";
  el.appendChild(container);
  textarea.hidden = true;
  createRoot(container).render(<Builder root={el} textarea={textarea} cfg={readConfig(el)} initial={initial} />);
}

export function mountAll(doc = document) {
  doc.querySelectorAll("[data-pz-builder]").forEach(mount);
}

window.PersonalizeBuilder = { adapter, mount, mountAll };

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => mountAll());
else mountAll();
