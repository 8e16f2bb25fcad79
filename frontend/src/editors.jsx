// Value editors, one per field type and operator, plus the editors of the
// pseudo-fields (events, segment references, rollouts, raw JSON).
import React, { useContext, useEffect, useMemo, useState } from "react";
import { EVENT_FIELD, RAW_FIELD, ROLLOUT_FIELD, SEGMENT_FIELD, NO_VALUE_OPS, newId } from "./adapter.js";
import { CASE_OPS, CASE_TYPES } from "./config.js";
import { RuleActions, errorAria } from "./controls.jsx";
import { N_, t } from "./i18n.js";

const DAYS = [N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun")];
const COUNT_OPS = [
  ["gte", N_("at least")],
  ["gt", N_("more than")],
  ["eq", N_("exactly")],
  ["lte", N_("at most")],
  ["lt", N_("fewer than")],
];

const toNumber = (s) => (s === "" || s === "-" ? null : Number(s));
const numText = (v) => (v === null || v === undefined || Number.isNaN(v) ? "" : String(v));

function NumberInput({ value, onChange, label, aria, ...rest }) {
  return (
    <input
      type="number"
      className="pz-number"
      value={numText(value)}
      aria-label={label}
      title={label}
      onChange={(e) => onChange(toNumber(e.target.value))}
      {...aria}
      {...rest}
    />
  );
}

function TextInput({ value, onChange, label, aria, type = "text", ...rest }) {
  return (
    <input
      type={type}
      className="pz-text"
      value={value === null || value === undefined ? "" : String(value)}
      aria-label={label}
      title={label}
      onChange={(e) => onChange(e.target.value)}
      {...aria}
      {...rest}
    />
  );
}

// --- property values of events: typed by what is written (50 → number, "50" → text) ---
const NUMERIC = /^-?\d+(\.\d+)?$/;
export function parseAuto(text) {
  const s = text.trim();
  if (NUMERIC.test(s)) return Number(s);
  if (s === "true") return true;
  if (s === "false") return false;
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) {
    try {
      return JSON.parse(s);
    } catch {
      return text;
    }
  }
  return text;
}
export function formatAuto(v) {
  if (v === null || v === undefined) return "";
  if (typeof v !== "string") return String(v);
  return parseAuto(v) !== v ? JSON.stringify(v) : v;
}

/** A text box whose text is kept locally so that parsing never fights the user's typing. */
function ParsedInput({ value, parse, format, onChange, label, aria, ...rest }) {
  const [text, setText] = useState(() => format(value));
  useEffect(() => {
    if (JSON.stringify(parse(text)) !== JSON.stringify(value)) setText(format(value));
  }, [value]);
  return (
    <input
      type="text"
      className="pz-text"
      value={text}
      aria-label={label}
      title={label}
      onChange={(e) => {
        setText(e.target.value);
        onChange(parse(e.target.value));
      }}
      {...aria}
      {...rest}
    />
  );
}

/** One value per line: lists for in/not_in, contains_any/all and list fields. */
function ListInput({ value, onChange, kind, label, aria }) {
  const parseLine = kind === "number" ? Number : kind === "property" ? parseAuto : (s) => s;
  const formatLine = kind === "property" ? formatAuto : String;
  const parse = (t) =>
    t
      .split("\n")
      .map((l) => (kind === "string" || kind === "version" ? l : l.trim()))
      .filter((l) => l.trim() !== "")
      .map(parseLine);
  const format = (v) => (Array.isArray(v) ? v.map(formatLine).join("\n") : "");
  const [text, setText] = useState(() => format(value));
  useEffect(() => {
    if (JSON.stringify(parse(text)) !== JSON.stringify(value)) setText(format(value));
  }, [value]);
  return (
    <textarea
      className="pz-list"
      rows={Math.min(6, Math.max(2, text.split("\n").length))}
      value={text}
      aria-label={t("{label} (one per line)", { label })}
      title={t("{label} (one per line)", { label })}
      placeholder={t("one value per line")}
      onChange={(e) => {
        setText(e.target.value);
        onChange(parse(e.target.value));
      }}
      {...aria}
    />
  );
}

function EnumSelect({ value, onChange, options, multiple, label, aria, unknown = t("not allowed") }) {
  const known = new Set(options.map((o) => String(o.value)));
  const current = multiple ? (Array.isArray(value) ? value : []) : [value];
  const extra = current.filter((v) => v !== undefined && v !== null && v !== "" && !known.has(String(v)));
  const all = [...options, ...extra.map((v) => ({ value: v, label: `${v} (${unknown})` }))];
  const byText = new Map(all.map((o) => [String(o.value), o.value]));
  return (
    <select
      className="pz-enum"
      multiple={multiple}
      size={multiple ? Math.min(6, Math.max(2, all.length)) : undefined}
      value={multiple ? current.map(String) : value === null || value === undefined ? "" : String(value)}
      aria-label={label}
      title={label}
      onChange={(e) => {
        if (multiple) onChange(Array.from(e.target.selectedOptions, (o) => byText.get(o.value)));
        else onChange(byText.get(e.target.value) ?? e.target.value);
      }}
      {...aria}
    >
      {!multiple && !known.has(String(value)) && extra.length === 0 && <option value="">{t("Choose…")}</option>}
      {all.map((o) => (
        <option key={String(o.value)} value={String(o.value)}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

/** The input for one scalar of a field type. */
function Scalar({ kind, value, onChange, label, aria, fieldData }) {
  switch (kind) {
    case "number":
      return <NumberInput value={value} onChange={onChange} label={label} aria={aria} step="any" />;
    case "date":
      return <TextInput type="date" value={value} onChange={onChange} label={label} aria={aria} />;
    case "datetime":
      return <TextInput value={value} onChange={onChange} label={label} aria={aria} placeholder="2025-01-31T18:00:00Z" />;
    case "version":
      return <TextInput value={value} onChange={onChange} label={label} aria={aria} placeholder="3.2.0" />;
    case "boolean":
      return (
        <EnumSelect
          value={value}
          onChange={onChange}
          label={label}
          aria={aria}
          options={[
            { value: true, label: t("true") },
            { value: false, label: t("false") },
          ]}
        />
      );
    case "enum":
      return <EnumSelect value={value} onChange={onChange} label={label} aria={aria} options={fieldData.allowedValues || []} />;
    case "property":
      return <ParsedInput value={value} parse={parseAuto} format={formatAuto} onChange={onChange} label={label} aria={aria} placeholder={t("shoes, 50, true")} list={fieldData.valuesListId} />;
    default:
      return <TextInput value={value} onChange={onChange} label={label} aria={aria} />;
  }
}

function Pair({ kind, value, onChange, labels, aria, fieldData, min, max }) {
  const pair = Array.isArray(value) ? value : [null, null];
  const set = (i) => (v) => onChange(i === 0 ? [v, pair[1] ?? null] : [pair[0] ?? null, v]);
  const extra = min !== undefined ? { min, max } : {};
  return (
    <span className="pz-pair">
      {kind === "number" ? (
        <>
          <NumberInput value={pair[0]} onChange={set(0)} label={labels[0]} aria={aria} {...extra} />
          <span aria-hidden="true"> {t("and")} </span>
          <NumberInput value={pair[1]} onChange={set(1)} label={labels[1]} aria={aria} {...extra} />
        </>
      ) : (
        <>
          <Scalar kind={kind} value={pair[0]} onChange={set(0)} label={labels[0]} aria={aria} fieldData={fieldData} />
          <span aria-hidden="true"> {t("and")} </span>
          <Scalar kind={kind} value={pair[1]} onChange={set(1)} label={labels[1]} aria={aria} fieldData={fieldData} />
        </>
      )}
    </span>
  );
}

function DaysOfWeek({ value, onChange, aria }) {
  const chosen = new Set(Array.isArray(value) ? value : []);
  return (
    <fieldset className="pz-days" {...aria}>
      <legend className="pz-sr-only">{t("Days of the week")}</legend>
      {DAYS.map((name, i) => (
        <label key={name}>
          <input
            type="checkbox"
            checked={chosen.has(i + 1)}
            onChange={(e) => {
              const next = new Set(chosen);
              if (e.target.checked) next.add(i + 1);
              else next.delete(i + 1);
              onChange([...next].sort((a, b) => a - b));
            }}
          />
          {t(name)}
        </label>
      ))}
    </fieldset>
  );
}

function GeoRadius({ value, onChange, aria }) {
  const v = value && typeof value === "object" ? value : {};
  const set = (k) => (n) => onChange({ ...v, [k]: n });
  return (
    <span className="pz-geo">
      <NumberInput value={v.km} onChange={set("km")} label={t("Radius in km")} aria={aria} min={0} step="any" />
      <span aria-hidden="true"> {t("km of")} </span>
      <NumberInput value={v.lat} onChange={set("lat")} label={t("Latitude")} aria={aria} min={-90} max={90} step="any" />
      <NumberInput value={v.lng} onChange={set("lng")} label={t("Longitude")} aria={aria} min={-180} max={180} step="any" />
    </span>
  );
}

function CaseToggle() {
  const ra = useContext(RuleActions);
  if (!ra || !ra.rule) return null;
  return (
    <label className="pz-case" title={t("Match upper/lower case exactly")}>
      <input
        type="checkbox"
        checked={ra.rule.case_sensitive === true}
        onChange={(e) => ra.actions.onPropChange("case_sensitive", e.target.checked ? true : undefined, ra.path)}
      />
      {t("Case-sensitive")}
    </label>
  );
}

function SegmentPicker({ value, onChange, ctx, aria }) {
  const options = (ctx.segments || [])
    .filter((s) => s.key !== ctx.currentKey)
    .map((s) => ({ value: s.key, label: `${s.name} (${s.key})${s.status && s.status !== "active" ? ` · ${s.status}` : ""}` }));
  return <EnumSelect value={value} onChange={onChange} options={options} label={t("Segment")} aria={aria} unknown={t("unknown segment")} />;
}

function RolloutEditor({ value, onChange, aria }) {
  const v = value && typeof value === "object" ? value : {};
  return (
    <span className="pz-rollout">
      <NumberInput value={v.rollout} onChange={(n) => onChange({ ...v, rollout: n })} label={t("Percent of visitors")} aria={aria} min={0} max={100} step="any" />
      <span aria-hidden="true">{t("% salt")} </span>
      <TextInput
        value={v.salt ?? ""}
        onChange={(s) => {
          const next = { ...v };
          if (s === "") delete next.salt;
          else next.salt = s;
          onChange(next);
        }}
        label={t("Salt (optional; defaults to the segment key)")}
        placeholder={t("salt (optional)")}
      />
    </span>
  );
}

function RawEditor({ value, onChange, aria }) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [bad, setBad] = useState(false);
  return (
    <span className="pz-raw">
      <textarea
        rows={4}
        value={text}
        aria-label={t("Criteria node as JSON")}
        aria-invalid={bad || undefined}
        onChange={(e) => {
          setText(e.target.value);
          try {
            onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
        {...aria}
      />
      {bad && <span className="pz-rule-error">{t("Not valid JSON")}</span>}
    </span>
  );
}

/** The properties seen in the site's recent events of this name (debounced, cached by the
 * builder per site and event), for the `where` filters' suggestions. */
function usePropertySuggestions(ctx, eventName) {
  const [suggestions, setSuggestions] = useState(null);
  const suggest = ctx.suggestProperties;
  useEffect(() => {
    const name = (eventName || "").trim();
    if (!name || !suggest) {
      setSuggestions(null);
      return undefined;
    }
    let live = true;
    const timer = setTimeout(() => suggest(name).then((s) => live && setSuggestions(s)), 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [eventName, suggest]);
  return suggestions;
}

function EventEditor({ value, onChange, ctx, ruleKeyText, aria }) {
  const v = value && typeof value === "object" ? value : {};
  const PropertyBuilder = ctx.PropertyBuilder;
  const suggestions = usePropertySuggestions(ctx, v.event);
  const seen = (suggestions && suggestions.properties) || [];
  const count = v.count && typeof v.count === "object" ? v.count : null;
  return (
    <div className="pz-event">
      <div className="pz-event-line">
        <TextInput value={v.event ?? ""} onChange={(s) => onChange({ ...v, event: s })} label={t("Event name")} placeholder="purchase" aria={aria} />
        <select
          aria-label={t("How often")}
          title={t("How often")}
          value={count ? count.op : ""}
          onChange={(e) => {
            const next = { ...v };
            if (e.target.value === "") delete next.count;
            else next.count = { op: e.target.value, value: count ? count.value : 1 };
            onChange(next);
          }}
        >
          <option value="">{t("at least once")}</option>
          {COUNT_OPS.map(([op, label]) => (
            <option key={op} value={op}>
              {t(label)}
            </option>
          ))}
        </select>
        {count && (
          <NumberInput value={count.value} onChange={(n) => onChange({ ...v, count: { ...count, value: n } })} label={t("Number of times")} aria={aria} min={0} step={1} />
        )}
        {count && <span aria-hidden="true">{t("times")}</span>}
        <span aria-hidden="true">{t("in the last")}</span>
        <NumberInput
          value={v.within_days}
          onChange={(n) => {
            const next = { ...v };
            if (n === null) delete next.within_days;
            else next.within_days = n;
            onChange(next);
          }}
          label={t("Within days (empty: ever)")}
          placeholder={t("ever")}
          aria={aria}
          min={1}
          step={1}
        />
        <span aria-hidden="true">{t("days")}</span>
      </div>
      <div className="pz-event-where" role="group" aria-label={t("Event property filters")}>
        <PropertyBuilder
          query={v.where}
          prefix={ruleKeyText}
          ctx={ctx}
          suggestions={suggestions}
          onChange={(where) => onChange({ ...v, where })}
        />
        {seen.length > 0 && (
          <p className="pz-muted pz-suggested" data-testid="pz-seen-properties">
            {t("Properties seen in recent “{event}” events:", { event: v.event.trim() })}{" "}
            {seen.slice(0, 8).map((p, i) => (
              <React.Fragment key={p.path}>
                {i > 0 && ", "}
                <code>{p.name}</code>
              </React.Fragment>
            ))}
          </p>
        )}
      </div>
    </div>
  );
}

/** RQB `valueEditor`: picks the editor for the rule's field type and operator. */
export function ValueEditor(props) {
  const { field, operator, value, handleOnChange, fieldData = {}, context: ctx = {}, path } = props;
  const aria = errorAria(ctx, path);
  const ruleKeyText = (ctx.prefix ? `${ctx.prefix}>` : "") + path.join(".");
  if (field === EVENT_FIELD) return <EventEditor value={value} onChange={handleOnChange} ctx={ctx} ruleKeyText={ruleKeyText} aria={aria} />;
  if (field === SEGMENT_FIELD) return <SegmentPicker value={value} onChange={handleOnChange} ctx={ctx} aria={aria} />;
  if (field === ROLLOUT_FIELD) return <RolloutEditor value={value} onChange={handleOnChange} aria={aria} />;
  if (field === RAW_FIELD) return <RawEditor value={value} onChange={handleOnChange} aria={aria} />;
  if (NO_VALUE_OPS.has(operator)) return null;

  const kind = ctx.nested ? "property" : fieldData.ftype || inferKind(value);
  // Inside an event's filters: the frequent values seen for this property, as suggestions.
  const seenValues = (ctx.nested && ctx.propertySuggestions && (ctx.propertySuggestions.properties || []).find((p) => p.path === field)?.values) || [];
  const valuesListId = seenValues.length ? `${ctx.uid}-values-${ruleKeyText.replace(/[>.]/g, "_")}` : undefined;
  const fd = valuesListId ? { ...fieldData, valuesListId } : fieldData;
  const caseToggle = CASE_TYPES.has(kind) && CASE_OPS.has(operator) ? <CaseToggle /> : null;
  const name = ctx.nested ? field : fieldData.label || field;
  const label = t("Value for {name}", { name });
  let editor;
  switch (operator) {
    case "between":
      editor = <Pair kind={kind} value={value} onChange={handleOnChange} labels={[t("{name} from", { name }), t("{name} to", { name })]} aria={aria} fieldData={fieldData} />;
      break;
    case "in":
    case "not_in":
      editor =
        kind === "enum" ? (
          <EnumSelect multiple value={value} onChange={handleOnChange} options={fieldData.allowedValues || []} label={label} aria={aria} />
        ) : (
          <ListInput value={value} onChange={handleOnChange} kind={kind} label={label} aria={aria} />
        );
      break;
    case "contains_any":
    case "contains_all":
      editor = <ListInput value={value} onChange={handleOnChange} kind="string" label={label} aria={aria} />;
      break;
    case "within_last":
    case "more_than_ago": {
      const days = value && typeof value === "object" ? value.days : null;
      editor = (
        <span className="pz-days-window">
          <NumberInput value={days} onChange={(n) => handleOnChange({ ...(value || {}), days: n })} label={t("Number of days")} aria={aria} min={0} step={1} />
          <span aria-hidden="true">{operator === "more_than_ago" ? t("days ago") : t("days")}</span>
        </span>
      );
      break;
    }
    case "hour_between":
      editor = <Pair kind="number" value={value} onChange={handleOnChange} labels={[t("From hour (0–23)"), t("To hour (0–23)")]} aria={aria} min={0} max={23} />;
      break;
    case "day_of_week_in":
      editor = <DaysOfWeek value={value} onChange={handleOnChange} aria={aria} />;
      break;
    case "within_km":
      editor = <GeoRadius value={value} onChange={handleOnChange} aria={aria} />;
      break;
    case "contains":
    case "not_contains":
      editor =
        kind === "list" ? (
          <TextInput value={value} onChange={handleOnChange} label={label} aria={aria} />
        ) : (
          <Scalar kind={kind === "property" ? "property" : "string"} value={value} onChange={handleOnChange} label={label} aria={aria} fieldData={fieldData} />
        );
      break;
    default:
      editor = <Scalar kind={kind} value={value} onChange={handleOnChange} label={label} aria={aria} fieldData={fd} />;
  }
  return (
    <span className="pz-value">
      {editor}
      {caseToggle}
      {valuesListId && (
        <datalist id={valuesListId} data-testid="pz-value-suggestions">
          {seenValues.map((x) => (
            <option key={`${typeof x}:${x}`} value={formatAuto(x)} />
          ))}
        </datalist>
      )}
    </span>
  );
}

function inferKind(value) {
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "boolean";
  return "string";
}

export const useStableEmptyGroup = () => useMemo(() => ({ id: newId(), combinator: "all", not: false, rules: [] }), []);
