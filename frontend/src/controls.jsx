// Accessible replacements for RQB's selectors and buttons, and the rule wrapper
// that shows server errors and visitor-test results next to each rule.
import React, { createContext } from "react";
import { Rule } from "react-querybuilder";

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
      label="Field"
      className={props.className}
      disabled={props.disabled}
      extra={errorAria(props.context, props.path)}
      unknownLabel={(v) => (v === "__raw__" ? "Other (raw JSON)" : `${v} (not in catalog)`)}
    />
  );
}

export function OperatorSelector(props) {
  return (
    <Select
      options={props.options}
      value={props.value}
      onChange={props.handleOnChange}
      label="Operator"
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
      label={props.context && props.context.nested ? "Property filters match" : "Group matches"}
      className={props.className}
      disabled={props.disabled}
    />
  );
}

/** Free-text property path for the filters of an event (properties.* are not in the catalog). */
export function PropertyFieldInput(props) {
  return (
    <input
      type="text"
      className={`${props.className || ""} pz-property`}
      value={props.value === "~" ? "" : (props.value ?? "")}
      placeholder="properties.name"
      aria-label="Event property"
      title="Event property"
      spellCheck={false}
      disabled={props.disabled}
      onChange={(e) => props.handleOnChange(e.target.value)}
      {...errorAria(props.context, props.path)}
    />
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
            {verdict.passed ? "✓ passes" : "✗ fails"}
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
