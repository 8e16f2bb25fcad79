// Fields, operators and default values by field type (docs/criteria.md).
import { EVENT_FIELD, ROLLOUT_FIELD, SEGMENT_FIELD, NO_VALUE_OPS } from "./adapter.js";

export const OPERATOR_LABELS = {
  eq: "is",
  neq: "is not",
  in: "is one of",
  not_in: "is none of",
  lt: "less than",
  lte: "at most",
  gt: "greater than",
  gte: "at least",
  between: "between",
  contains: "contains",
  not_contains: "does not contain",
  starts_with: "starts with",
  ends_with: "ends with",
  matches: "matches regex",
  contains_any: "contains any of",
  contains_all: "contains all of",
  is_set: "is set",
  is_not_set: "is not set",
  is_true: "is true",
  is_false: "is false",
  within_last: "within the last",
  more_than_ago: "more than … ago",
  hour_between: "hour between",
  day_of_week_in: "day of week is",
  within_km: "within km of",
  performed: "did",
  member_of: "is a member of",
  in_rollout: "is in rollout",
  raw: "raw JSON",
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
  { name: EVENT_FIELD, label: "Did an event…", ftype: "event" },
  { name: SEGMENT_FIELD, label: "Is in segment…", ftype: "segment" },
  { name: ROLLOUT_FIELD, label: "Is in a % rollout…", ftype: "rollout" },
];

const GROUP_LABELS = { profile: "Profile", context: "Context", visitor: "Visitor" };

/** The site's catalog as RQB option groups: Profile, Context, Visitor, then behaviour. */
export function fieldOptions(catalog) {
  const groups = new Map(Object.keys(GROUP_LABELS).map((k) => [k, []]));
  for (const f of catalog) {
    const root = String(f.path).split(".")[0];
    if (!groups.has(root)) groups.set(root, []);
    groups.get(root).push({
      name: f.path,
      value: f.path,
      label: f.label || f.path,
      ftype: f.type,
      helpText: f.help_text || "",
      allowedValues: normaliseAllowed(f.allowed_values),
    });
  }
  const out = [];
  for (const [root, options] of groups) {
    if (!options.length) continue;
    options.sort((a, b) => a.name.localeCompare(b.name));
    out.push({ label: GROUP_LABELS[root] || root, options });
  }
  out.push({ label: "Behaviour and membership", options: PSEUDO_FIELDS.map((f) => ({ ...f, value: f.name })) });
  return out;
}

export function normaliseAllowed(values) {
  if (!Array.isArray(values)) return [];
  return values.map((v) =>
    v !== null && typeof v === "object" ? { value: v.value ?? v.name, label: String(v.label ?? v.value ?? v.name) } : { value: v, label: String(v) },
  );
}

export function operatorsFor(ftype) {
  if (ftype === "event") return ["performed"];
  if (ftype === "segment") return ["member_of"];
  if (ftype === "rollout") return ["in_rollout"];
  if (ftype === "raw") return ["raw"];
  return OPERATORS_BY_TYPE[ftype] || OPERATORS_BY_TYPE.string;
}

export const operatorOptions = (ops) => ops.map((op) => ({ name: op, value: op, label: OPERATOR_LABELS[op] || op }));

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
