// The builder's own strings: English in the code, other languages in locale/<lang>.json
// (keyed by the English text). The language is the page's (<html lang>, which Django's
// admin sets from the active language) or the widget's data-lang. Words for criteria codes
// (enum values, built-in field labels) come translated from the server (data-labels).
import fr from "./locale/fr.json";

const CATALOGS = { fr };
let lang = "en";
let catalog = {};

export function setLanguage(code) {
  const base = String(code || "en").toLowerCase().split(/[-_]/)[0];
  lang = CATALOGS[base] ? base : "en";
  catalog = CATALOGS[lang] || {};
}

export const language = () => lang;

const fill = (text, params) =>
  params ? text.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined ? m : String(params[k]))) : text;

/** The translation of an English string; `{name}` placeholders are filled from `params`. */
export function t(text, params) {
  return fill(catalog[text] || text, params);
}

/** Singular or plural by the language's rule (French: 0 and 1 are singular). */
export function tn(one, other, n, params) {
  const form = new Intl.PluralRules(lang).select(n) === "one" ? one : other;
  return t(form, { n, ...(params || {}) });
}

/** Marks a string for translation where it is defined; translated with t() where shown. */
export const N_ = (text) => text;

// Server-provided words for codes: {values: {code: label}, fields: {path: label}}.
let serverLabels = { values: {}, fields: {} };
export function setServerLabels(labels) {
  serverLabels = { values: {}, fields: {}, ...(labels || {}) };
}

/** `non_binary` → "Non binary", when no label is known. */
export function humanize(code) {
  const text = String(code).replace(/[_-]+/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : String(code);
}

export function valueLabel(code) {
  if (typeof code !== "string") return String(code);
  return serverLabels.values[code] || humanize(code);
}

export const builtinFieldLabel = (path) => serverLabels.fields[path];

setLanguage(typeof document !== "undefined" ? document.documentElement.lang : "en");
