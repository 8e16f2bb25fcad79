/*! Personalize JS client — dependency-free, no build step.
 *
 *   <div data-personalize="home_hero">fallback content</div>
 *   <script src="/static/personalize/personalize.js"></script>
 *   <script>
 *     var pz = Personalize.init({key: "pk_…", endpoint: "https://personalize.example.com/api/v1"});
 *     pz.run();   // decide the placements on the page, fill them, record impressions and clicks
 *   </script>
 *
 * Failures: run() never rejects. When decide fails or takes longer than `timeout` ms (default
 * 5000), the page keeps its default content, run() resolves to null and `onError(err)` is
 * called (err.status, err.timeout, err.during: "decide" or "events"; without onError the
 * error is logged with console.warn). decide() and track() reject, for callers who catch.
 *
 * Consent: with `consent: false` (or pz.setConsent(false)) nothing is written to the browser
 * (no cookie, no localStorage), the visitor id lives only in memory for this page, decide
 * is told `consent: false` (the server stores nothing) and no events are sent.
 *
 * Experiments: decide answers `assignments` ({experiment: "phase:arm"}); the client keeps
 * them in localStorage ("pz_assignments", and the "pz_asg" cookie the template tag reads)
 * and echoes them as `visitor.assignments`, so a visitor keeps their arm when the
 * experiment's weights change within a phase.
 */
(function (global) {
  "use strict";

  var VID = "pz_vid";
  var ASSIGNMENTS = "pz_assignments";
  var MAX_ASSIGNMENTS = 100; // what decide accepts
  var ASSIGNMENTS_COOKIE = "pz_asg";
  var YEAR = 365 * 24 * 3600;

  function randomId(prefix) {
    var c = global.crypto;
    if (c && c.randomUUID) return prefix + c.randomUUID();
    var bytes = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    return prefix + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function readCookie(name) {
    var parts = (global.document ? document.cookie : "").split("; ");
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].split("=");
      if (kv[0] === name) return decodeURIComponent(kv.slice(1).join("="));
    }
    return null;
  }

  function writeCookie(name, value, maxAge) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=" + maxAge + "; SameSite=Lax";
  }

  function storage() {
    try { return global.localStorage; } catch (e) { return null; }
  }

  function isoLocalTime(d) {
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    var off = -d.getTimezoneOffset();
    var sign = off >= 0 ? "+" : "-";
    off = Math.abs(off);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
      sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }

  function pageContext() {
    var ctx = {local_time: isoLocalTime(new Date())};
    if (global.navigator && navigator.language) ctx.language = navigator.language;
    if (global.location) {
      ctx.landing_page = location.pathname;
      var params = new URLSearchParams(location.search);
      ["utm_source", "utm_medium", "utm_campaign"].forEach(function (k) {
        if (params.get(k)) ctx[k] = params.get(k);
      });
    }
    if (global.document && document.referrer) ctx.referrer = document.referrer;
    return ctx;
  }

  function assign(target) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i] || {};
      for (var k in src) if (Object.prototype.hasOwnProperty.call(src, k)) target[k] = src[k];
    }
    return target;
  }

  function Client(options) {
    if (!options || !options.key) throw new Error("Personalize.init needs {key: 'pk_…'}");
    this.key = options.key;
    this.endpoint = (options.endpoint || "/api/v1").replace(/\/+$/, "");
    this.userId = options.userId || null;
    // Proof of userId from your server: {% personalize_user_hash user.pk %} or your own HMAC.
    this.userHash = options.userHash || null;
    this.context = options.context || {};
    this.profile = options.profile || {};
    this.trackImpressions = options.trackImpressions !== false;
    this.trackClicks = options.trackClicks !== false;
    this.timeout = options.timeout === undefined ? 5000 : options.timeout;
    this.onError = typeof options.onError === "function" ? options.onError : null;
    this._memoryId = null;
    this.setConsent(options.consent !== false);
  }

  Client.prototype.setConsent = function (consent) {
    this.consent = !!consent;
    if (!this.consent) {
      // Forget everything this client stored.
      var s = storage();
      if (s) { try { s.removeItem(VID); s.removeItem(ASSIGNMENTS); } catch (e) { /* ignore */ } }
      if (global.document) {
        document.cookie = VID + "=; path=/; max-age=0; SameSite=Lax";
        document.cookie = ASSIGNMENTS_COOKIE + "=; path=/; max-age=0; SameSite=Lax";
      }
    }
    return this;
  };

  Client.prototype.visitorId = function () {
    if (!this.consent) {
      if (!this._memoryId) this._memoryId = randomId("anon-");
      return this._memoryId;
    }
    var s = storage();
    var id = (s && s.getItem(VID)) || readCookie(VID) || this._memoryId || randomId("anon-");
    try { if (s) s.setItem(VID, id); } catch (e) { /* private mode */ }
    writeCookie(VID, id, YEAR); // lets the server-side template tag see the same visitor
    this._memoryId = id;
    return id;
  };

  /** The experiment arms decide answered before ({experiment: "phase:arm"}), or {}. */
  Client.prototype.assignments = function () {
    var s = this.consent ? storage() : null;
    try {
      var kept = s && JSON.parse(s.getItem(ASSIGNMENTS) || "{}");
      return kept && typeof kept === "object" && !Array.isArray(kept) ? kept : {};
    } catch (e) { return {}; }
  };

  Client.prototype._keepAssignments = function (answer) {
    var s = this.consent ? storage() : null;
    if (!s || !answer || !answer.assignments) return;
    // Newest answers win; the oldest entries go first beyond what decide accepts.
    var merged = assign({}, this.assignments(), answer.assignments);
    var keys = Object.keys(merged);
    for (var i = 0; i < keys.length - MAX_ASSIGNMENTS; i++) delete merged[keys[i]];
    try { s.setItem(ASSIGNMENTS, JSON.stringify(merged)); } catch (e) { /* private mode */ }
    // The server-side template tag echoes them from this cookie.
    writeCookie(ASSIGNMENTS_COOKIE, JSON.stringify(merged), YEAR);
  };

  Client.prototype._visitor = function (extra) {
    var v = {id: this.visitorId(), consent: this.consent};
    if (this.userId) v.user_id = this.userId;
    if (this.userId && this.userHash) v.user_hash = this.userHash;
    return assign(v, extra);
  };

  Client.prototype._post = function (path, body, keepalive) {
    // Keepalive posts (events) may outlive the page and are not timed out.
    var timeout = keepalive ? 0 : this.timeout;
    var controller = timeout > 0 && global.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, timeout) : null;
    function done() { if (timer) clearTimeout(timer); }
    return fetch(this.endpoint + path, {
      method: "POST",
      headers: {"Authorization": "Api-Key " + this.key, "Content-Type": "application/json"},
      body: JSON.stringify(body),
      keepalive: !!keepalive,
      credentials: "omit",
      signal: controller ? controller.signal : undefined
    }).then(function (r) { done(); return r; }, function (err) {
      done();
      if (controller && controller.signal.aborted) {
        err = new Error("No answer from Personalize within " + timeout + " ms");
        err.name = "TimeoutError";
        err.timeout = true;
      }
      throw err;
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error((data.error && data.error.message) || ("HTTP " + r.status));
          err.status = r.status;
          err.body = data;
          throw err;
        }
        return data;
      });
    });
  };

  /** POST /decide. opts: {placements, screens, context, profile, events, visitor, explain}.
   *  events: recent events the app keeps for this visitor ([{name, properties, timestamp}],
   *  at most 100), counted with the stored ones by event conditions, never stored. */
  Client.prototype.decide = function (opts) {
    opts = opts || {};
    var body = {
      visitor: this._visitor(opts.visitor),
      context: assign({}, pageContext(), this.context, opts.context),
      profile: assign({}, this.profile, opts.profile)
    };
    if (opts.events && opts.events.length) body.events = opts.events;
    if (opts.placements) body.placements = opts.placements;
    if (opts.screens) body.screens = opts.screens;
    if (opts.explain) body.explain = true;
    if (body.visitor.consent === false && opts.visitor && opts.visitor.consent === false) {
      body.visitor.id = randomId("anon-"); // a one-off id: nothing ties requests together
    }
    var kept = body.visitor.consent === false ? {} : this.assignments();
    if (Object.keys(kept).length && !body.visitor.assignments) body.visitor.assignments = kept;
    var self = this;
    return this._post("/decide", body).then(function (answer) {
      if (body.visitor.consent !== false) self._keepAssignments(answer);
      return answer;
    });
  };

  /** POST /events. Each event gets an id so a retry is idempotent. No consent: nothing sent. */
  Client.prototype.track = function (events, visitorExtra) {
    if (!this.consent || (visitorExtra && visitorExtra.consent === false)) return Promise.resolve({stored: 0, consent: false});
    var list = (Array.isArray(events) ? events : [events]).map(function (e) {
      return assign({id: randomId("evt-"), timestamp: new Date().toISOString()}, e);
    });
    if (!list.length) return Promise.resolve({stored: 0});
    var self = this;
    var body = {visitor: this._visitor(visitorExtra), events: list};
    return this._post("/events", body, true).catch(function (err) {
      if (err.status && err.status < 500 && err.status !== 429) throw err;
      return self._post("/events", body, true); // one retry; ids make it safe
    });
  };

  function render(el, content) {
    if (!content) return;
    var kind = content.kind, body = content.body;
    if (kind === "html") {
      el.innerHTML = body || ""; // sanitised by Personalize when the editor saved it
    } else if (kind === "image" && body && typeof body === "object") {
      var img = document.createElement("img");
      img.src = body.src || ""; img.alt = body.alt || "";
      var node = img;
      if (body.href) { node = document.createElement("a"); node.href = body.href; node.appendChild(img); }
      el.textContent = ""; el.appendChild(node);
    } else if (kind === "text") {
      el.textContent = body == null ? "" : String(body);
    }
    // json: left to the page, through the "personalize:content" event
  }

  /** Fill [data-personalize] elements from a decision; record impressions and clicks. */
  Client.prototype.fill = function (decision, root, visitorExtra) {
    root = root || document;
    var self = this, impressions = [];
    var placements = (decision && decision.placements) || {};
    var nodes = root.querySelectorAll("[data-personalize]");
    Array.prototype.forEach.call(nodes, function (el) {
      var key = el.getAttribute("data-personalize");
      var d = placements[key];
      if (!d) return;
      render(el, d.content);
      el.setAttribute("data-variant", d.variant);
      el.setAttribute("data-reason", d.reason && d.reason.kind || "");
      el.setAttribute("data-personalize-slot", key);
      el.__pzReason = d.reason || null;
      impressions.push(attributed("impression", key, d.variant, d.reason));
      el.__pzVisitor = visitorExtra;
      try {
        el.dispatchEvent(new CustomEvent("personalize:content", {detail: d, bubbles: true}));
      } catch (e) { /* very old browsers */ }
    });
    if (this.trackClicks) this._listenClicks(root);
    if (this.trackImpressions && impressions.length) {
      return this.track(impressions, visitorExtra).then(function (r) { return {decision: decision, events: r}; });
    }
    return Promise.resolve({decision: decision, events: null});
  };

  // Attribution: impressions and clicks name the slot, the variant and why it was shown.
  function attributed(kind, slot, variant, reason) {
    var e = {kind: kind, name: kind, slot: slot};
    if (variant) e.variant = variant;
    if (reason && reason.kind) e.reason = reason;
    return e;
  }

  function readReason(el) {
    if (el.__pzReason) return el.__pzReason;
    var raw = el.getAttribute("data-reason-json");
    if (raw) { try { return JSON.parse(raw); } catch (e) { /* ignore */ } }
    var kind = el.getAttribute("data-reason");
    return kind ? {kind: kind} : null;
  }

  /** One delegated listener: a click inside an element marked data-personalize-slot (filled
   * here, or rendered by the server-side template tag) records a click on that slot. */
  Client.prototype._listenClicks = function (root) {
    var target = root.addEventListener ? root : document;
    if (target.__pzClicks) return;
    target.__pzClicks = true;
    var self = this;
    target.addEventListener("click", function (ev) {
      var el = ev.target && ev.target.closest ? ev.target.closest("[data-personalize-slot]") : null;
      if (!el) return;
      var reason = readReason(el);
      if (reason && reason.kind && !reason[reason.kind] && reason.kind !== "default") reason = null;
      self.track([attributed("click", el.getAttribute("data-personalize-slot"),
        el.getAttribute("data-variant"), reason)], el.__pzVisitor);
    });
  };

  /** Decide the placements present on the page and fill them. */
  Client.prototype.run = function (opts) {
    opts = opts || {};
    var root = opts.root || document;
    var keys = [];
    Array.prototype.forEach.call(root.querySelectorAll("[data-personalize]"), function (el) {
      var k = el.getAttribute("data-personalize");
      if (keys.indexOf(k) < 0) keys.push(k);
    });
    var self = this;
    return this.decide(assign({placements: keys}, opts)).then(function (decision) {
      return self.fill(decision, root, opts.visitor).then(function () { return decision; }, function (err) {
        self._reportError(err, "events");
        return decision;
      });
    }, function (err) {
      self._reportError(err, "decide");
      return null; // the page keeps its default content
    });
  };

  Client.prototype._reportError = function (err, during) {
    err.during = during;
    if (this.onError) {
      try { this.onError(err); } catch (e) { /* a failing handler must not break the page */ }
    } else if (global.console && console.warn) {
      console.warn("Personalize: " + during + " failed: " + err.message);
    }
  };

  global.Personalize = {
    init: function (options) { return new Client(options); },
    Client: Client,
    version: "1.0.0"
  };
})(typeof window !== "undefined" ? window : this);
