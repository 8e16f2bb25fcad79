// The segment builder: RQB editor, live audience, visitor tester and JSON view.
import React, { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import { QueryBuilder } from "react-querybuilder";
import { RAW_FIELD, fromRQB, keyForPath, newId, ruleKeys, toRQB } from "./adapter.js";
import { ApiError, fetchAudience, fetchEventProperties, fetchFields, fetchPreview, fetchSegment, fetchSegments } from "./api.js";
import { defaultValue, fieldOptions, operatorOptions, operatorsFor, OPERATORS_BY_TYPE } from "./config.js";
import {
  ActionButton,
  CombinatorSelector,
  FieldSelector,
  OperatorSelector,
  PropertyFieldInput,
  RuleWithFeedback,
} from "./controls.jsx";
import { ValueEditor, useStableEmptyGroup } from "./editors.jsx";
import { N_, t, tn } from "./i18n.js";

const COMBINATORS = [
  { name: "all", value: "all", label: N_("ALL of these (and)") },
  { name: "any", value: "any", label: N_("ANY of these (or)") },
  { name: "none", value: "none", label: N_("NONE of these (not)") },
];

const TRANSLATIONS = {
  addRule: { label: N_("+ Condition"), title: N_("Add condition") },
  addGroup: { label: N_("+ Group"), title: N_("Add group") },
  removeRule: { label: "✕", title: N_("Remove condition") },
  removeGroup: { label: "✕", title: N_("Remove group") },
};
const PROPERTY_TRANSLATIONS = {
  addRule: { label: N_("+ Property filter"), title: N_("Add property filter") },
  addGroup: { label: N_("+ Filter group"), title: N_("Add filter group") },
  removeRule: { label: "✕", title: N_("Remove property filter") },
  removeGroup: { label: "✕", title: N_("Remove filter group") },
};

// Translated once per language, when the builder first renders (the language is the page's).
const translated = (table) =>
  Object.fromEntries(Object.entries(table).map(([k, v]) => [k, { label: t(v.label), title: t(v.title) }]));
let tables = null;
function uiTables() {
  if (!tables) {
    tables = {
      combinators: COMBINATORS.map((c) => ({ ...c, label: t(c.label) })),
      translations: translated(TRANSLATIONS),
      propertyTranslations: translated(PROPERTY_TRANSLATIONS),
      propertyOperators: operatorOptions(OPERATORS_BY_TYPE.property),
    };
  }
  return tables;
}

const CONTROLS = {
  actionElement: ActionButton,
  combinatorSelector: CombinatorSelector,
  fieldSelector: FieldSelector,
  operatorSelector: OperatorSelector,
  valueEditor: ValueEditor,
  rule: RuleWithFeedback,
};
const PROPERTY_CONTROLS = { ...CONTROLS, fieldSelector: PropertyFieldInput };
const PROPERTY_FIELDS = [{ name: "properties.", value: "properties.", label: "properties." }];

const DEFAULT_DOCUMENT = JSON.stringify(
  { profile: { age: 25, gender: "female", city: "Detroit" }, context: { device_type: "mobile" }, events: [] },
  null,
  2,
);

const siteParam = (site) => (/^\d+$/.test(String(site)) ? Number(site) : site);

function indexRules(group, map = new Map()) {
  for (const r of group.rules || []) {
    if (Array.isArray(r.rules)) indexRules(r, map);
    else map.set(r.id, r);
  }
  return map;
}

// A rule whose field changed must not keep flags that belonged to the old field.
function dropStaleProps(prev, next) {
  const old = indexRules(prev);
  const fix = (group) => {
    let changed = false;
    const rules = (group.rules || []).map((r) => {
      if (Array.isArray(r.rules)) {
        const f = fix(r);
        changed ||= f !== r;
        return f;
      }
      const o = old.get(r.id);
      if (o && o.field !== r.field && ("case_sensitive" in r || "noValue" in r)) {
        changed = true;
        const { case_sensitive: _c, noValue: _n, ...rest } = r;
        return rest;
      }
      return r;
    });
    return changed ? { ...group, rules } : group;
  };
  return fix(next);
}

function PropertyBuilder({ query, prefix, ctx, suggestions, onChange }) {
  const empty = useStableEmptyGroup();
  const nested = useMemo(
    () => ({ ...ctx, nested: true, prefix, propertySuggestions: suggestions || null }),
    [ctx, prefix, suggestions],
  );
  const ui = uiTables();
  return (
    <QueryBuilder
      fields={PROPERTY_FIELDS}
      query={query || empty}
      onQueryChange={onChange}
      combinators={ui.combinators}
      getOperators={() => ui.propertyOperators}
      getDefaultValue={(rule) => defaultValue("property", rule.operator)}
      controlElements={PROPERTY_CONTROLS}
      translations={ui.propertyTranslations}
      context={nested}
      resetOnFieldChange={false}
      resetOnOperatorChange
      enableMountQueryChange={false}
      idGenerator={newId}
      controlClassnames={{ queryBuilder: "pz-qb pz-qb-nested" }}
    />
  );
}

function ExplanationTree({ node }) {
  if (!node || typeof node !== "object") return null;
  const children = Array.isArray(node.children) ? node.children : [];
  return (
    <li className={node.passed ? "pz-pass" : "pz-fail"}>
      <span aria-hidden="true">{node.passed ? "✓ " : "✗ "}</span>
      <span className="pz-sr-only">{node.passed ? t("passed: ") : t("failed: ")}</span>
      {node.summary || node.path || ""}
      {node.path && <code className="pz-path">{node.path}</code>}
      {children.length > 0 && (
        <ul>
          {children.map((c, i) => (
            <ExplanationTree key={`${c.path || ""}-${i}`} node={c} />
          ))}
        </ul>
      )}
    </li>
  );
}

function VisitorTester({ cfg, root, site, criteria, sampleIds, onExplain, uid, keyNow }) {
  const [mode, setMode] = useState("document");
  const [doc, setDoc] = useState(DEFAULT_DOCUMENT);
  const [userId, setUserId] = useState("");
  // The last outcome ({signature, data} or {signature, error}) and what it was computed for:
  // a verdict is shown only while the site, criteria and visitor are still the tested ones.
  const [outcome, setOutcome] = useState(null);
  const [busy, setBusy] = useState(false);
  const signature = JSON.stringify([site, criteria, mode, mode === "document" ? doc : userId.trim()]);
  const signatureRef = useRef(signature);
  signatureRef.current = signature;
  const current = outcome && outcome.signature === signature ? outcome : null;
  const stale = outcome !== null && current === null;
  const result = current && current.data;
  const error = current ? current.error || "" : "";

  useEffect(() => {
    if (stale) onExplain(null); // the per-rule verdicts were for another visitor or tree
  }, [stale, onExplain]);

  const run = async () => {
    const tested = signature;
    const fail = (message) => setOutcome({ signature: tested, error: message });
    if (!site) return fail(t("Choose a site first."));
    const body = { site: siteParam(site), criteria, segment_key: keyNow() };
    if (mode === "document") {
      try {
        body.document = JSON.parse(doc);
      } catch {
        return fail(t("The visitor document is not valid JSON."));
      }
    } else {
      if (!userId.trim()) return fail(t("Enter a profile's user id."));
      body.user_id = userId.trim();
    }
    setBusy(true);
    try {
      const data = await fetchPreview(cfg, root, body);
      setOutcome({ signature: tested, data });
      // An answer for a visitor or tree edited meanwhile is kept as stale, never shown.
      onExplain(signatureRef.current === tested ? data.explanation || null : null);
    } catch (e) {
      onExplain(null);
      fail(e.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="pz-panel pz-tester">
      <summary>{t("Test a visitor")}</summary>
      <fieldset className="pz-mode">
        <legend>{t("Test with")}</legend>
        <label>
          <input type="radio" name={`${uid}-mode`} checked={mode === "document"} onChange={() => setMode("document")} />
          {t("a visitor document (JSON)")}
        </label>
        <label>
          <input type="radio" name={`${uid}-mode`} checked={mode === "profile"} onChange={() => setMode("profile")} />
          {t("a stored profile")}
        </label>
      </fieldset>
      {mode === "document" ? (
        <label className="pz-block">
          <span>{t("Visitor document (JSON with profile, context, visitor and events)")}</span>
          <textarea rows={8} value={doc} spellCheck={false} onChange={(e) => setDoc(e.target.value)} />
        </label>
      ) : (
        <label className="pz-block">
          <span>{t("Profile user id")}</span>
          <input type="text" value={userId} list={`${uid}-users`} onChange={(e) => setUserId(e.target.value)} />
          <datalist id={`${uid}-users`}>
            {sampleIds.map((id) => (
              <option key={id} value={id} />
            ))}
          </datalist>
        </label>
      )}
      <button type="button" className="button" onClick={run} disabled={busy}>
        {busy ? t("Testing…") : t("Test visitor")}
      </button>
      <div role="status" aria-live="polite" className="pz-tester-result">
        {error && <span className="pz-error">{error}</span>}
        {stale && (
          <span className="pz-muted" data-testid="pz-stale">
            {t("The criteria or the visitor changed since the last test: test again for a verdict.")}
          </span>
        )}
        {result && !error && (
          <strong className={result.matches ? "pz-pass" : "pz-fail"} data-testid="pz-match">
            {result.matches ? t("✓ Match: this visitor is in the segment") : t("✗ No match: this visitor is not in the segment")}
          </strong>
        )}
      </div>
      {result && result.explanation && (
        <ul className="pz-explain" aria-label={t("Explanation per rule")}>
          <ExplanationTree node={result.explanation} />
        </ul>
      )}
    </details>
  );
}

function explanationMap(query, explanation) {
  const map = new Map();
  const walk = (node) => {
    if (!node || typeof node !== "object") return;
    if (typeof node.path === "string") map.set(keyForPath(query, node.path), node);
    (node.children || []).forEach(walk);
  };
  walk(explanation);
  return map;
}

function traitsSummary(traits) {
  if (!traits || typeof traits !== "object") return "";
  return Object.entries(traits)
    .slice(0, 4)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" · ");
}

export function Builder({ root, textarea, cfg, initial }) {
  const uid = `pz${useId().replace(/[^A-Za-z0-9]/g, "")}`;
  const [query, setQuery] = useState(() => toRQB(initial));
  const criteria = useMemo(() => fromRQB(query), [query]);
  const json = useMemo(() => JSON.stringify(criteria), [criteria]);
  const queryRef = useRef(query);
  queryRef.current = query;

  useEffect(() => {
    textarea.value = json;
  }, [json, textarea]);

  // The site comes from the admin form's site field and follows its changes.
  const siteEl = useMemo(() => {
    const form = root.closest("form");
    return form ? form.querySelector(`[name="${CSS.escape(cfg.siteField)}"]`) : null;
  }, [root, cfg.siteField]);
  const [site, setSite] = useState(() => (siteEl && siteEl.value) || cfg.site || "");
  const [storedKey, setStoredKey] = useState("");
  useEffect(() => {
    // A change form shows the site read-only (no input): ask the API for the segment's site.
    if (siteEl || cfg.site) return undefined;
    const m = window.location.pathname.match(/\/(\d+)\/change\/?$/);
    if (!m) return undefined;
    const ac = new AbortController();
    fetchSegment(cfg, m[1], ac.signal)
      .then((seg) => {
        if (seg && seg.site !== undefined && seg.site !== null) setSite(String(seg.site));
        if (seg && seg.key) setStoredKey(seg.key);
      })
      .catch(() => {});
    return () => ac.abort();
  }, [siteEl, cfg]);
  useEffect(() => {
    if (!siteEl) return undefined;
    const onChange = () => setSite(siteEl.value || cfg.site || "");
    siteEl.addEventListener("change", onChange);
    return () => siteEl.removeEventListener("change", onChange);
  }, [siteEl, cfg.site]);
  const currentKey = useMemo(() => {
    const el = root.closest("form")?.querySelector('[name="key"]');
    return el ? el.value : cfg.segmentKey || storedKey;
  }, [root, cfg.segmentKey, storedKey]);
  // Read at request time: the key input may be typed after the builder mounts. The server
  // uses it to salt a salt-less rollout and to catch references back to this segment.
  const keyNow = useCallback(() => {
    const el = root.closest("form")?.querySelector('[name="key"]');
    return (el ? el.value : cfg.segmentKey || storedKey) || undefined;
  }, [root, cfg.segmentKey, storedKey]);

  const [catalog, setCatalog] = useState([]);
  const [segments, setSegments] = useState([]);
  const [loadError, setLoadError] = useState("");
  useEffect(() => {
    if (!site) {
      setCatalog([]);
      setSegments([]);
      return undefined;
    }
    const ac = new AbortController();
    Promise.all([fetchFields(cfg, site, ac.signal), fetchSegments(cfg, site, ac.signal).catch(() => [])])
      .then(([f, s]) => {
        setCatalog(f);
        setSegments(s);
        setLoadError("");
      })
      .catch((e) => {
        if (e.name !== "AbortError") setLoadError(t("Could not load the field catalog: {message}", { message: e.message }));
      });
    return () => ac.abort();
  }, [site, cfg]);

  const fields = useMemo(() => fieldOptions(catalog), [catalog]);
  const fieldMap = useMemo(() => new Map(fields.flatMap((g) => g.options).map((o) => [o.name, o])), [fields]);
  const typeOf = (field, fieldData) =>
    field === RAW_FIELD ? "raw" : (fieldData && fieldData.ftype) || fieldMap.get(field)?.ftype || "string";

  // Live audience, debounced.
  const [audience, setAudience] = useState({ state: "idle" });
  const [errors, setErrors] = useState([]);
  useEffect(() => {
    if (!site) {
      setAudience({ state: "nosite" });
      return undefined;
    }
    const ac = new AbortController();
    const submitted = queryRef.current;
    setAudience((a) => ({ ...a, state: "pending" }));
    const timer = setTimeout(() => {
      fetchAudience(cfg, root, { site: siteParam(site), criteria, sample: 5, segment_key: keyNow() }, ac.signal)
        .then((d) => {
          setAudience({ state: "ok", count: d.count, sample: d.sample || [] });
          setErrors([]);
        })
        .catch((e) => {
          if (e.name === "AbortError") return;
          if (e instanceof ApiError && e.status === 400) {
            const items = (e.body && e.body.error && e.body.error.fields) || [];
            const list = items.length ? items : [{ path: "", message: e.message }];
            setErrors(list.map((f) => ({ ...f, key: keyForPath(submitted, f.path) })));
            setAudience({ state: "invalid" });
          } else {
            setAudience({ state: "error", message: e.message });
          }
        });
    }, cfg.debounce);
    return () => {
      clearTimeout(timer);
      ac.abort();
    };
  }, [json, site, cfg, root, keyNow]); // `json` is `criteria` serialised: it changes exactly when the tree does

  const [explanation, setExplanation] = useState(null);
  useEffect(() => setExplanation(null), [json]);

  const ruleKeySet = useMemo(() => new Set(ruleKeys(query)), [query]);
  const errorMap = useMemo(() => {
    const m = new Map();
    for (const e of errors) {
      if (!ruleKeySet.has(e.key)) continue;
      m.set(e.key, m.has(e.key) ? `${m.get(e.key)} ${e.message}` : e.message);
    }
    return m;
  }, [errors, ruleKeySet]);
  const generalErrors = errors.filter((e) => !ruleKeySet.has(e.key));
  const explainMap = useMemo(() => (explanation ? explanationMap(query, explanation) : null), [explanation, query]);

  // Event property suggestions, one request per site and event name (failures are retried).
  const suggestionCache = useRef(new Map());
  const suggestProperties = useCallback(
    (event) => {
      if (!site || !cfg.eventPropertiesUrl) return Promise.resolve(null);
      const key = JSON.stringify([site, event]);
      const cache = suggestionCache.current;
      if (!cache.has(key)) {
        cache.set(
          key,
          fetchEventProperties(cfg, site, event).catch(() => {
            cache.delete(key);
            return null;
          }),
        );
      }
      return cache.get(key);
    },
    [site, cfg],
  );

  const ctx = useMemo(
    () => ({ uid, prefix: "", errors: errorMap, explain: explainMap, segments, currentKey, PropertyBuilder, suggestProperties }),
    [uid, errorMap, explainMap, segments, currentKey, suggestProperties],
  );

  const count = audience.count;
  let status;
  if (audience.state === "nosite") status = t("Choose a site to see how many profiles match.");
  else if (audience.state === "invalid") status = t("Fix the highlighted conditions to see the audience.");
  else if (audience.state === "error") status = t("Could not count the audience: {message}", { message: audience.message });
  else if (count === undefined) status = t("Counting matching profiles…");
  else
    status = (
      <>
        <strong data-testid="pz-count">{count}</strong> {tn("matching profile", "matching profiles", count)}
        {audience.state === "pending" && <span className="pz-muted"> {t("(updating…)")}</span>}
      </>
    );

  return (
    <div
      className="pz-app"
      role="group"
      aria-label={t("Criteria builder")}
      onKeyDown={(e) => {
        // Enter in a builder input must not submit the whole admin form.
        if (e.key === "Enter" && e.target instanceof HTMLInputElement) e.preventDefault();
      }}
    >
      <div className="pz-audience">
        <div role="status" aria-live="polite" aria-atomic="true" className="pz-count-line" data-state={audience.state}>
          {status}
        </div>
        {audience.state !== "invalid" && audience.sample && audience.sample.length > 0 && (
          <ul className="pz-sample" aria-label={t("Sample members")}>
            {audience.sample.map((m) => (
              <li key={m.user_id}>
                <code>{m.user_id}</code> <span className="pz-muted">{traitsSummary(m.traits)}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      {loadError && <p className="pz-error">{loadError}</p>}
      {generalErrors.length > 0 && (
        <ul className="pz-general-errors" role="alert">
          {generalErrors.map((e, i) => (
            <li key={`${e.path}-${i}`}>
              {e.message} {e.path && <code>{e.path}</code>}
            </li>
          ))}
        </ul>
      )}
      <QueryBuilder
        fields={fields}
        query={query}
        onQueryChange={(q) => setQuery((prev) => dropStaleProps(prev, q))}
        combinators={uiTables().combinators}
        getOperators={(field, misc) => operatorOptions(operatorsFor(typeOf(field, misc && misc.fieldData)))}
        getDefaultValue={(rule, misc) => {
          const fd = (misc && misc.fieldData) || fieldMap.get(rule.field);
          return defaultValue(typeOf(rule.field, fd), rule.operator, fd);
        }}
        controlElements={CONTROLS}
        translations={uiTables().translations}
        context={ctx}
        resetOnOperatorChange
        enableMountQueryChange={false}
        idGenerator={newId}
        controlClassnames={{ queryBuilder: "pz-qb" }}
      />
      <VisitorTester
        cfg={cfg}
        root={root}
        site={site}
        criteria={criteria}
        uid={uid}
        sampleIds={(audience.sample || []).map((m) => m.user_id)}
        onExplain={setExplanation}
        keyNow={keyNow}
      />
      <details className="pz-panel pz-json">
        <summary>{t("JSON (read-only)")}</summary>
        <pre tabIndex={0} aria-label={t("Criteria as JSON (read-only)")} data-testid="pz-json">
          {JSON.stringify(criteria, null, 2)}
        </pre>
      </details>
    </div>
  );
}
