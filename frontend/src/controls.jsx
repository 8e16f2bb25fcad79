// Accessible replacements for RQB's selectors and buttons, and the rule wrapper
// that shows server errors and visitor-test results next to each rule.
import React, { createContext } from "react";
import { Rule } from "react-querybuilder";
import { t } from "./i18n.js";

export const RuleActions = createContext(null);

export const ruleKey = (ctx, path) => (ctx && ctx.prefix ? `${ctx.prefix}>` : "") + path.join(".");
export const errorDomId = (ctx, key) => `${ctx.uid}-err-${key.replace(/[>.]/g, "_") || "root"}`;

/** aria-invalid / aria-describedby for a control of the rule at `path`, when it has an error. */
export function errorAria(ctx, path) {
  const key = ruleKey(ctx, path);
  return ctx && ctx.errors && ctx.errors.has(key)
    ? { "aria-invalid": true, "aria-describedby": errorDomId(ctx, key) }
    : {};
}

const flatOptions = (options) => options.flatMap((o) => (Array.isArray(o.options) ? o.options : [o]));

function Select({ options, value, onChange, label, className, disabled, extra = {}, unknownLabel }) {
  const known = flatOptions(options).some((o) => o.name === value);
  return (
    <select
      className={className}
      value={value ?? ""}
      aria-label={label}
      title={label}
      disabled={disabled}
      onChange={(e) => onChange(e.target.value)}
      {...extra}
    >
      {!known && value !== undefined && value !== null && value !== "" && (
        <option value={value}>{unknownLabel ? unknownLabel(value) : value}</option>
      )}
      {options.map((o) =>
        Array.isArray(o.options) ? (
          <optgroup key={o.label} label={o.label}>
            {o.options.map((opt) => (
              <option key={opt.name} value={opt.name}>
                {opt.label}
              </option>
            ))}
          </optgroup>
        ) : (
          <option key={o.name} value={o.name}>
            {o.label}
          </option>
        ),
      )}
    </select>
  );
}

export function FieldSelector(props) {
  return (
    <Select
      options={props.options}
      value={props.value}
      onChange={props.handleOnChange}
      label={t("Field")}
      className={props.className}
      disabled={props.disabled}
      extra={errorAria(props.context, props.path)}
      unknownLabel={(v) => (v === "__raw__" ? t("Other (raw JSON)") : t("{field} (not in catalog)", { field: v }))}
    />
  );
}

export function OperatorSelector(props) {
  return (
    <Select
      options={props.options}
      value={props.value}
      onChange={props.handleOnChange}
      label={t("Operator")}
      className={props.className}
      disabled={props.disabled}
      extra={errorAria(props.context, props.path)}
    />
  );
}

export function CombinatorSelector(props) {
  return (
    <Select
      options={props.options}
      value={props.value}
      onChange={props.handleOnChange}
      label={props.context && props.context.nested ? t("Property filters match") : t("Group matches")}
      className={props.className}
      disabled={props.disabled}
    />
  );
}

/** Free-text property path for the filters of an event (properties.* are not in the catalog),
 * with the properties seen in the site's recent events of that name as suggestions. */
export function PropertyFieldInput(props) {
  const ctx = props.context || {};
  const suggestions = (ctx.propertySuggestions && ctx.propertySuggestions.properties) || [];
  const listId = suggestions.length ? `${ctx.uid}-props-${ruleKey(ctx, props.path).replace(/[>.]/g, "_")}` : undefined;
  return (
    <>
      <input
        type="text"
        className={`${props.className || ""} pz-property`}
        value={props.value === "~" ? "" : (props.value ?? "")}
        placeholder="properties.name"
        aria-label={t("Event property")}
        title={t("Event property")}
        spellCheck={false}
        disabled={props.disabled}
        list={listId}
        onChange={(e) => props.handleOnChange(e.target.value)}
        {...errorAria(props.context, props.path)}
      />
      {listId && (
        <datalist id={listId} data-testid="pz-property-suggestions">
          {suggestions.map((p) => (
            <option key={p.path} value={p.path} label={t("seen in {n} of the last {total} events", { n: p.seen, total: ctx.propertySuggestions.events_read })} />
          ))}
        </datalist>
      )}
    </>
  );
}

export function ActionButton(props) {
  return (
    <button
      type="button"
      className={props.className}
      title={props.title}
      aria-label={props.title}
      disabled={props.disabled}
      onClick={(e) => props.handleOnClick(e)}
    >
      {props.label}
    </button>
  );
}

export function RuleWithFeedback(props) {
  const ctx = props.context || {};
  const key = ruleKey(ctx, props.path);
  const error = ctx.errors && ctx.errors.get(key);
  const verdict = ctx.explain && ctx.explain.get(key);
  return (
    <RuleActions.Provider value={{ actions: props.actions, path: props.path, rule: props.rule }}>
      <div className={`pz-rule${error ? " pz-rule-invalid" : ""}`} data-rule-key={key}>
        <Rule {...props} />
        {verdict && (
          <span
            className={`pz-verdict ${verdict.passed ? "pz-pass" : "pz-fail"}`}
            title={verdict.summary || ""}
          >
            {verdict.passed ? t("✓ passes") : t("✗ fails")}
            {verdict.summary ? `: ${verdict.summary}` : ""}
          </span>
        )}
        {error && (
          <div className="pz-rule-error" id={errorDomId(ctx, key)} role="alert">
            {error}
          </div>
        )}
      </div>
    </RuleActions.Provider>
  );
}
