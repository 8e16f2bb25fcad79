// Two-way, lossless conversion between our criteria JSON (docs/criteria.md) and
// react-querybuilder's tree. Groups map 1:1 (combinator = "all" | "any" | "none"),
// conditions become rules, and the other node kinds become rules on pseudo-fields
// whose value carries the node's own data.

export const EVENT_FIELD = "__event__";
export const SEGMENT_FIELD = "__segment__";
export const ROLLOUT_FIELD = "__rollout__";
export const RAW_FIELD = "__raw__";
export const GROUP_KEYS = ["all", "any", "none"];
export const NO_VALUE_OPS = new Set(["is_set", "is_not_set", "is_true", "is_false"]);

let counter = 0;
export const newId = () => `pz-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const keysWithin = (node, allowed) => Object.keys(node).every((k) => allowed.includes(k));

export function isGroupNode(node) {
  if (!isObject(node)) return false;
  const keys = Object.keys(node);
  return keys.length === 1 && GROUP_KEYS.includes(keys[0]) && Array.isArray(node[keys[0]]);
}

function groupToRQB(node) {
  const combinator = Object.keys(node)[0];
  return { id: newId(), combinator, not: false, rules: node[combinator].map(nodeToRQB) };
}

function nodeToRQB(node) {
  if (isGroupNode(node)) return groupToRQB(node);
  if (isObject(node)) {
    if ("field" in node && "op" in node && keysWithin(node, ["field", "op", "value", "case_sensitive"])) {
      const rule = { id: newId(), field: node.field, operator: node.op, valueSource: "value" };
      if ("value" in node) rule.value = clone(node.value);
      else {
        rule.value = "";
        rule.noValue = true;
      }
      if ("case_sensitive" in node) rule.case_sensitive = node.case_sensitive;
      return rule;
    }
    if ("event" in node && keysWithin(node, ["event", "where", "count", "within_days"])) {
      const value = { event: node.event };
      if ("where" in node) value.where = toRQB(node.where);
      if ("count" in node) value.count = clone(node.count);
      if ("within_days" in node) value.within_days = node.within_days;
      return { id: newId(), field: EVENT_FIELD, operator: "performed", valueSource: "value", value };
    }
    if ("segment" in node && keysWithin(node, ["segment"])) {
      return { id: newId(), field: SEGMENT_FIELD, operator: "member_of", valueSource: "value", value: node.segment };
    }
    if ("rollout" in node && keysWithin(node, ["rollout", "salt"])) {
      const value = { rollout: node.rollout };
      if ("salt" in node) value.salt = node.salt;
      return { id: newId(), field: ROLLOUT_FIELD, operator: "in_rollout", valueSource: "value", value };
    }
  }
  // Anything we do not recognise is kept verbatim and edited as raw JSON.
  return { id: newId(), field: RAW_FIELD, operator: "raw", valueSource: "value", value: clone(node) };
}

/** Our criteria tree → an RQB root group. A non-group root is wrapped and unwrapped again. */
export function toRQB(tree) {
  if (tree === null || tree === undefined || (isObject(tree) && Object.keys(tree).length === 0)) {
    return { id: newId(), combinator: "all", not: false, rules: [], emptyAs: tree === undefined ? null : tree };
  }
  if (isGroupNode(tree)) return groupToRQB(tree);
  return { id: newId(), combinator: "all", not: false, rules: [nodeToRQB(tree)], bare: true };
}

function groupFromRQB(group) {
  let combinator = group.combinator;
  if (combinator === "and") combinator = "all";
  if (combinator === "or") combinator = "any";
  const node = { [combinator]: (group.rules || []).filter((r) => typeof r === "object").map(itemFromRQB) };
  return group.not ? { none: [node] } : node;
}

function itemFromRQB(item) {
  return Array.isArray(item.rules) ? groupFromRQB(item) : ruleFromRQB(item);
}

function ruleFromRQB(rule) {
  const value = rule.value;
  switch (rule.field) {
    case EVENT_FIELD: {
      const v = isObject(value) ? value : {};
      const node = { event: v.event ?? "" };
      if (v.where !== undefined) node.where = fromRQB(v.where);
      if (v.count !== undefined) node.count = clone(v.count);
      if (v.within_days !== undefined) node.within_days = v.within_days;
      return node;
    }
    case SEGMENT_FIELD:
      return { segment: value ?? "" };
    case ROLLOUT_FIELD: {
      const v = isObject(value) ? value : {};
      const node = { rollout: v.rollout ?? null };
      if (v.salt !== undefined) node.salt = v.salt;
      return node;
    }
    case RAW_FIELD:
      return clone(value);
    default: {
      const node = { field: rule.field, op: rule.operator };
      const blank = value === undefined || value === "";
      if (NO_VALUE_OPS.has(rule.operator)) {
        if (!rule.noValue && !blank && value !== null) node.value = clone(value);
      } else if (!(rule.noValue && blank)) {
        node.value = value === undefined ? null : clone(value);
      }
      if (rule.case_sensitive !== undefined) node.case_sensitive = rule.case_sensitive;
      return node;
    }
  }
}

/** An RQB root group → our criteria tree. */
export function fromRQB(group) {
  const rules = group.rules || [];
  if (group.bare && rules.length === 1 && group.combinator === "all" && !group.not) {
    return itemFromRQB(rules[0]);
  }
  if ("emptyAs" in group && rules.length === 0 && group.combinator === "all" && !group.not) {
    return clone(group.emptyAs) ?? { all: [] };
  }
  return groupFromRQB(group);
}

export const roundTrip = (tree) => fromRQB(toRQB(tree));

// --- paths: "criteria.all[0].any[1].value" / explanation "$.all[1]" → a rule key ---
// A key is the RQB path joined by "."; an event's `where` tree adds ">" and its own path.

const TOKEN = /\.?(all|any|none)\[(\d+)\]|\.?(where)\b|\.?([A-Za-z_]+)|\[(\d+)\]/y;

export function keyForPath(root, rawPath) {
  let path = String(rawPath || "").trim();
  path = path.replace(/^criteria/, "").replace(/^\$/, "");
  let group = root;
  let steps = [];
  const layers = [];
  if (root.bare && root.rules.length === 1) {
    path = `.all[0]${path}`;
  }
  TOKEN.lastIndex = 0;
  let item = group;
  while (TOKEN.lastIndex < path.length) {
    const m = TOKEN.exec(path);
    if (!m) break;
    if (m[1] !== undefined) {
      if (!group || !Array.isArray(group.rules)) break;
      const index = Number(m[2]);
      const child = group.rules[index];
      if (!child) break;
      steps.push(index);
      item = child;
      group = Array.isArray(child.rules) ? child : null;
    } else if (m[3] !== undefined) {
      const where = item && item.field === EVENT_FIELD && item.value ? item.value.where : null;
      if (!where) break;
      layers.push(steps.join("."));
      steps = [];
      group = where;
      item = where;
      if (where.bare && where.rules.length === 1) {
        steps.push(0);
        item = where.rules[0];
        group = null;
      }
    } else {
      break; // .value, .op, .field, .count …: the error belongs to the node reached so far
    }
  }
  return [...layers, steps.join(".")].join(">");
}

/** The key of every rule (not group) in the tree, including rules inside event `where` trees. */
export function ruleKeys(root, prefix = "") {
  const out = [];
  const walk = (group, steps) => {
    (group.rules || []).forEach((child, i) => {
      const s = [...steps, i];
      const key = (prefix ? `${prefix}>` : "") + s.join(".");
      if (Array.isArray(child.rules)) return walk(child, s);
      out.push(key);
      if (child.field === EVENT_FIELD && child.value && child.value.where) {
        out.push(...ruleKeys(child.value.where, key));
      }
    });
  };
  walk(root, []);
  return out;
}
