/* trackscope mouse recorder: batches mouse, scroll and click events and posts them to a collector.
 * Embed:  <script src="/mouse/recorder.js" data-endpoint="/mouse/collect" data-user="alice"
 *                 data-token="mct_..." data-consent="granted"></script>
 * data-token is the site's write token (issued by the operator; see transforms/mouse/collector.py).
 * Nothing is recorded until consent is granted: data-consent="granted" on the tag, or a call to
 * trackscopeMouse.grantConsent() from the site's consent banner. revokeConsent() stops recording
 * and drops unsent events. Browsers sending Global Privacy Control (navigator.globalPrivacyControl)
 * are never recorded. */
(function () {
  "use strict";
  var tag = document.currentScript || {};
  var data = (tag.dataset || {});
  var endpoint = data.endpoint || "/mouse/collect";
  if (data.token) endpoint += (endpoint.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(data.token);
  var pageLoad = Math.random().toString(36).slice(2, 12);  // with session + batch: the idempotency key
  var user = data.user || "";
  var task = data.task || "";
  var flushMs = parseInt(data.flushMs || "1000", 10);
  var maxBatch = parseInt(data.maxBatch || "500", 10);
  var consent = data.consent === "granted";
  var session = sessionStorage.getItem("trackscope_session");
  if (!session) {
    session = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    sessionStorage.setItem("trackscope_session", session);
  }
  var queue = [];
  var batchNo = 0;
  var buttons = ["left", "middle", "right"];
  var lastScrollY = window.scrollY;

  function allowed() { return consent && !navigator.globalPrivacyControl; }
  function now() { return (performance.timeOrigin + performance.now()) / 1000; }
  function push(type, button, x, y) {
    if (!allowed()) return;
    queue.push({t: now(), type: type, button: button, x: x, y: y, sy: window.scrollY});
    if (queue.length >= maxBatch) flush(false);
  }
  function flush(leaving) {
    if (!queue.length || !allowed()) return;
    var key = session + "-" + pageLoad + "-" + batchNo;
    var body = JSON.stringify({session: session, user: user, task: task, page: location.pathname,
                               batch: batchNo++, consent: true, events: queue.splice(0, queue.length)});
    if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon(endpoint, new Blob([body], {type: "application/json"}));
    } else {
      // a retry of this batch (same key) is stored once; sendBeacon cannot set headers, so the
      // collector falls back to the batch's content there
      fetch(endpoint, {method: "POST", headers: {"Content-Type": "application/json", "Idempotency-Key": key},
                       body: body, keepalive: true});
    }
  }
  document.addEventListener("mousemove", function (e) {
    push(e.buttons ? "drag" : "move", e.buttons & 1 ? "left" : (e.buttons ? "right" : "none"), e.clientX, e.clientY);
  }, {passive: true});
  document.addEventListener("mousedown", function (e) { push("press", buttons[e.button] || "left", e.clientX, e.clientY); });
  document.addEventListener("mouseup", function (e) { push("release", buttons[e.button] || "left", e.clientX, e.clientY); });
  document.addEventListener("click", function (e) { push("click", buttons[e.button] || "left", e.clientX, e.clientY); });
  var lastX = 0, lastY = 0;
  document.addEventListener("mousemove", function (e) { lastX = e.clientX; lastY = e.clientY; }, {passive: true});
  window.addEventListener("scroll", function () {
    var y = window.scrollY;
    push(y < lastScrollY ? "scroll_up" : "scroll_down", "scroll", lastX, lastY);
    lastScrollY = y;
  }, {passive: true});
  setInterval(function () { flush(false); }, flushMs);
  window.addEventListener("pagehide", function () { flush(true); });
  window.trackscopeMouse = {
    grantConsent: function () { consent = true; },
    revokeConsent: function () { consent = false; queue = []; },
    flush: function () { flush(false); return queue.length; },
    session: session,
  };
})();
