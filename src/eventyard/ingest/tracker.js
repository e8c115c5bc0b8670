/* eventyard browser tracker, served by `eventyard ingest` at /v1/tracker.js. Plain ES5,
 * no build step, no dependencies. Use:
 *   <script src="https://ingest.example.com/v1/tracker.js" data-write-key="BROWSER_KEY"></script>
 *   eventyard.track("SignUp", {plan: "team"}); eventyard.identify("user-42", {email: "a@b.co"});
 * Events get a client-made eventId (a retry never doubles an event: the router dedups by it),
 * are batched, retried with backoff on 429/5xx/network errors, and whatever is still queued
 * when the page is hidden goes out with navigator.sendBeacon. */
(function (w, d) {
  "use strict";
  if (w.eventyard && w.eventyard.track) { return; }
  var script = d.currentScript || {};
  var data = script.dataset || {};
  var TRAITS = ["email", "phone", "firstName", "lastName", "city", "state", "zip", "country",
                "companyDomain"];
  var cfg = {
    writeKey: data.writeKey || "",
    endpoint: data.endpoint || (script.src ? new URL("/v1/events", script.src).href : "/v1/events"),
    flushMs: +(data.flushMs || 1000),   // how long an event may wait for company
    batchSize: +(data.batchSize || 20), // send at once when this many are queued
    maxQueue: 1000                      // oldest events give way beyond this
  };
  var queue = [], sending = false, timer = null, attempt = 0, store = {};
  try { store = w.localStorage; } catch (e) { store = {}; }
  function get(k) { try { return store.getItem ? store.getItem("eventyard." + k) : null; } catch (e) { return null; } }
  function put(k, v) { try { if (store.setItem) { store.setItem("eventyard." + k, v); } } catch (e) { /* private mode */ } }

  function uuid() {
    var b = new Uint8Array(16);
    (w.crypto || w.msCrypto).getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = "";
    for (var i = 0; i < 16; i++) { h += (b[i] + 256).toString(16).slice(1); if (i === 3 || i === 5 || i === 7 || i === 9) { h += "-"; } }
    return h;
  }
  var anonymousId = get("anonymousId") || uuid();
  put("anonymousId", anonymousId);
  var userId = get("userId");
  var traits = {};
  try { traits = JSON.parse(get("traits") || "{}") || {}; } catch (e) { traits = {}; }

  function schedule(ms) {
    if (timer === null) { timer = setTimeout(function () { timer = null; flush(); }, ms); }
  }
  function url(withKey) {
    return withKey ? cfg.endpoint + (cfg.endpoint.indexOf("?") < 0 ? "?" : "&") + "writeKey=" + encodeURIComponent(cfg.writeKey) : cfg.endpoint;
  }

  function flush() {
    if (sending || !queue.length) { return; }
    var batch = queue.splice(0, cfg.batchSize);
    sending = true;
    w.fetch(url(false), {
      method: "POST", keepalive: true, credentials: "omit",
      headers: {"Content-Type": "application/json", "X-Write-Key": cfg.writeKey},
      body: JSON.stringify(batch)
    }).then(function (r) {
      // 2xx: acknowledged. 4xx other than 429: refused for a reason a retry cannot fix
      // (the answer and the dead-letter topic say which); retrying would only repeat it.
      if (r.status === 429 || r.status >= 500) { retry(batch, +r.headers.get("Retry-After")); }
      else { done(); }
    }, function () { retry(batch, 0); });
  }
  function done() {
    sending = false; attempt = 0;
    if (queue.length) { schedule(queue.length >= cfg.batchSize ? 0 : cfg.flushMs); }
  }
  function retry(batch, afterS) {
    sending = false;
    queue = batch.concat(queue).slice(-cfg.maxQueue);
    attempt = Math.min(attempt + 1, 8);
    var backoff = Math.min(60000, 500 * Math.pow(2, attempt - 1)) * (0.5 + Math.random() / 2);
    schedule(Math.max(backoff, (afterS || 0) * 1000));
  }

  function beacon() {
    // The page is going away: hand everything queued to the browser in one go.
    while (queue.length) {
      var batch = queue.splice(0, cfg.batchSize), body = JSON.stringify(batch);
      if (!(w.navigator.sendBeacon && w.navigator.sendBeacon(url(true), body))) {
        w.fetch(url(true), {method: "POST", keepalive: true, credentials: "omit", body: body});
      }
    }
  }
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") { beacon(); } });
  w.addEventListener("pagehide", beacon);

  function track(name, props) {
    var ev = {event: name, eventId: uuid(), timestamp: new Date().toISOString(),
              source: "browser", anonymousId: anonymousId, pageUrl: w.location.href,
              userAgent: w.navigator.userAgent};
    if (userId) { ev.userId = userId; }
    if (d.referrer) { ev.referrer = d.referrer; }
    for (var i = 0; i < TRAITS.length; i++) { if (traits[TRAITS[i]] != null) { ev[TRAITS[i]] = traits[TRAITS[i]]; } }
    if (props && typeof props === "object") {
      if (typeof props.value === "number") { ev.value = props.value; }
      if (typeof props.currency === "string") { ev.currency = props.currency; }
      ev.properties = props;
    }
    queue.push(ev);
    if (queue.length > cfg.maxQueue) { queue.shift(); }
    schedule(queue.length >= cfg.batchSize ? 0 : cfg.flushMs);
    return ev.eventId;
  }
  function identify(id, t) {
    if (id != null) { userId = String(id); put("userId", userId); }
    t = t || {};
    for (var i = 0; i < TRAITS.length; i++) { if (t[TRAITS[i]] != null) { traits[TRAITS[i]] = t[TRAITS[i]]; } }
    put("traits", JSON.stringify(traits));
  }
  function init(options) { for (var k in options) { if (options.hasOwnProperty(k)) { cfg[k] = options[k]; } } }
  function reset() { userId = null; traits = {}; anonymousId = uuid(); put("anonymousId", anonymousId); put("userId", ""); put("traits", "{}"); }

  w.eventyard = {init: init, track: track, identify: identify, flush: flush, reset: reset,
                 _queue: function () { return queue.length; }};
})(window, document);
