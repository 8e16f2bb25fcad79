// Fields, operators and default values by field type (docs/criteria.md).
import { EVENT_FIELD, ROLLOUT_FIELD, SEGMENT_FIELD, NO_VALUE_OPS } from "./adapter.js";
import { N_, builtinFieldLabel, t, valueLabel } from "./i18n.js";

export const OPERATOR_LABELS = {
  eq: N_("is"),
  neq: N_("is not"),
  in: N_("is one of"),
  not_in: N_("is none of"),
  lt: N_("is less than"),
  lte: N_("is at most"),
  gt: N_("is greater than"),
  gte: N_("is at least"),
  between: N_("is between"),
  contains: N_("contains"),
  not_contains: N_("does not contain"),
  starts_with: N_("starts with"),
  ends_with: N_("ends with"),
  matches: N_("matches the pattern"),
  contains_any: N_("contains any of"),
  contains_all: N_("contains all of"),
  is_set: N_("is set"),
  is_not_set: N_("is not set"),
  is_true: N_("is true"),
  is_false: N_("is false"),
  within_last: N_("is within the last"),
  more_than_ago: N_("is more than … ago"),
  hour_between: N_("has its hour between"),
  day_of_week_in: N_("falls on"),
  within_km: N_("is within … km of"),
  performed: N_("did"),
  member_of: N_("is a member of"),
  in_rollout: N_("is in rollout"),
  raw: N_("raw JSON"),
};

const SET = ["is_set", "is_not_set"];
const ORDER = ["lt", "lte", "gt", "gte", "between"];
const TEXT = ["contains", "not_contains", "starts_with", "ends_with", "matches"];

export const OPERATORS_BY_TYPE = {
  string: ["eq", "neq", "in", "not_in", ...TEXT, ...SET],
  enum: ["eq", "neq", "in", "not_in", ...SET],
  number: ["eq", "neq", ...ORDER, "in", "not_in", ...SET],
  boolean: ["is_true", "is_false", "eq", "neq", ...SET],
  date: ["eq", "neq", ...ORDER, "within_last", "more_than_ago", "day_of_week_in", ...SET],
  datetime: [...ORDER, "within_last", "more_than_ago", "hour_between", "day_of_week_in", "eq", "neq", ...SET],
  version: ["eq", "neq", ...ORDER, "in", "not_in", ...SET],
  list: ["contains_any", "contains_all", "contains", "not_contains", ...SET],
  geo: ["within_km", ...SET],
  // properties.* of events take the type of their value
  property: ["eq", "neq", ...ORDER, "in", "not_in", ...TEXT, "is_true", "is_false", ...SET],
};

// Operators whose string comparison honours `case_sensitive`.
export const CASE_OPS = new Set(["eq", "neq", "in", "not_in", ...TEXT]);
export const CASE_TYPES = new Set(["string", "property"]);

export const PSEUDO_FIELDS = [
  { name: EVENT_FIELD, label: N_("Did an event…"), ftype: "event" },
  { name: SEGMENT_FIELD, label: N_("Is in segment…"), ftype: "segment" },
  { name: ROLLOUT_FIELD, label: N_("Is in a % rollout…"), ftype: "rollout" },
];

const GROUP_LABELS = { profile: N_("Profile"), context: N_("Context"), visitor: N_("Visitor") };

/** The site's catalog as RQB option groups: Profile, Context, Visitor, then behaviour. */
export function fieldOptions(catalog) {
  const groups = new Map(Object.keys(GROUP_LABELS).map((k) => [k, []]));
  for (const f of catalog) {
    const root = String(f.path).split(".")[0];
    if (!groups.has(root)) groups.set(root, []);
    groups.get(root).push({
      name: f.path,
      value: f.path,
      // A built-in field's label in the page language; a site's own label as written.
      label: (f.builtin && builtinFieldLabel(f.path)) || f.label || f.path,
      ftype: f.type,
      helpText: f.help_text || "",
      allowedValues: normaliseAllowed(f.allowed_values),
    });
  }
  const out = [];
  for (const [root, options] of groups) {
    if (!options.length) continue;
    options.sort((a, b) => a.name.localeCompare(b.name));
    out.push({ label: GROUP_LABELS[root] ? t(GROUP_LABELS[root]) : root, options });
  }
  const pseudo = PSEUDO_FIELDS.map((f) => ({ ...f, label: t(f.label), value: f.name }));
  out.push({ label: t("Behaviour and membership"), options: pseudo });
  return out;
}

export function normaliseAllowed(values) {
  if (!Array.isArray(values)) return [];
  return values.map((v) =>
    v !== null && typeof v === "object"
      ? { value: v.value ?? v.name, label: String(v.label ?? valueLabel(v.value ?? v.name)) }
      : { value: v, label: valueLabel(v) },
  );
}

export function operatorsFor(ftype) {
  if (ftype === "event") return ["performed"];
  if (ftype === "segment") return ["member_of"];
  if (ftype === "rollout") return ["in_rollout"];
  if (ftype === "raw") return ["raw"];
  return OPERATORS_BY_TYPE[ftype] || OPERATORS_BY_TYPE.string;
}

export const operatorOptions = (ops) =>
  ops.map((op) => ({ name: op, value: op, label: OPERATOR_LABELS[op] ? t(OPERATOR_LABELS[op]) : op }));

/** A sensible starting value for a field type and operator (RQB resets values on change). */
export function defaultValue(ftype, op, fieldData) {
  // No `where` until a property filter is added; no `count` means "at least once".
  if (ftype === "event") return { event: "", within_days: 30 };
  if (ftype === "segment") return "";
  if (ftype === "rollout") return { rollout: 10 };
  if (NO_VALUE_OPS.has(op)) return "";
  switch (op) {
    case "between":
      return ftype === "number" ? [0, 0] : ["", ""];
    case "in":
    case "not_in":
    case "contains_any":
    case "contains_all":
      return [];
    case "within_last":
    case "more_than_ago":
      return { days: 30 };
    case "hour_between":
      return [18, 6];
    case "day_of_week_in":
      return [6, 7];
    case "within_km":
      return { lat: 0, lng: 0, km: 10 };
    default:
      break;
  }
  if (ftype === "number") return 0;
  if (ftype === "boolean") return true;
  if (ftype === "enum") {
    const first = fieldData?.allowedValues?.[0];
    return first ? first.value : "";
  }
  return "";
}
