// imapmigrate dashboard: refresh the live parts of a page without a reload.
// Every element with data-refresh="URL" is replaced, every data-interval
// milliseconds, by what URL returns (a fragment rendered by the server).
// Pages work without this script; it only saves the reload.
(function () {
  "use strict";

  // The element a pointer (mouse button, finger) is pressed on, if any.
  var pressed = null;
  document.addEventListener("pointerdown", function (ev) { pressed = ev.target; }, true);
  ["pointerup", "pointercancel"].forEach(function (t) {
    // After the click event, which follows pointerup in the same task.
    document.addEventListener(t, function () { setTimeout(function () { pressed = null; }, 0); }, true);
  });

  function refresh(el) {
    var url = el.getAttribute("data-refresh");
    var every = parseInt(el.getAttribute("data-interval"), 10) || 3000;
    var stopped = false;
    function tick() {
      if (stopped) return;
      if (document.hidden) { setTimeout(tick, every); return; }
      fetch(url, { credentials: "same-origin", headers: { "X-Fragment": "1" }, redirect: "manual" })
        .then(function (res) {
          // A session that ended (redirect to the login page) or a batch
          // removed: stop, the next navigation says why.
          if (res.type === "opaqueredirect" || !res.ok) { stopped = true; el.setAttribute("data-refresh-stopped", String(res.status)); return null; }
          return res.text();
        })
        .then(function (html) {
          if (html === null || html === undefined) return;
          // Keep the keyboard focus where it was if it is inside el: on
          // the element of the same id, or the link to the same place.
          var active = document.activeElement, key = null;
          if (active && active !== el && el.contains(active)) {
            key = active.id ? { id: active.id } : active.getAttribute("href") ? { href: active.getAttribute("href") } : null;
          }
          // A selection being made is not swept away, nor the element
          // a mouse button is pressed on: replaced before the button is
          // released, it would get no click (the press and the release on
          // different elements).
          var sel = window.getSelection && window.getSelection();
          if (sel && !sel.isCollapsed && el.contains(sel.anchorNode)) return;
          if (pressed && el.contains(pressed)) return;
          el.innerHTML = html;
          el.setAttribute("data-refreshed", String(Date.now()));
          if (key) {
            var again = key.id ? document.getElementById(key.id) : null;
            if (!again && key.href) {
              el.querySelectorAll("a[href]").forEach(function (a) { if (!again && a.getAttribute("href") === key.href) again = a; });
            }
            if (again) again.focus({ preventScroll: true });
          }
        })
        .catch(function () { /* offline: try again at the next tick */ })
        .then(function () { if (!stopped) setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }

  // The new batch form's "Check the file" is sent without leaving the page,
  // so that the chosen file stays chosen for "Create batch".
  function checkInPlace(form) {
    form.addEventListener("submit", function (ev) {
      var btn = ev.submitter;
      if (!btn || btn.value !== "check" || !window.FormData || !window.DOMParser) return;
      ev.preventDefault();
      var data = new FormData(form);
      btn.disabled = true;
      fetch(btn.getAttribute("formaction"), { method: "POST", body: data, credentials: "same-origin", headers: { "X-Fragment": "check" } })
        .then(function (res) { return res.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var mine = document.getElementById("check-result"), theirs = doc.getElementById("check-result");
          if (mine && theirs) {
            // The messages of the last try go; those of this one come.
            document.querySelectorAll("main > .notice, main > .alert, #check-result > .notice, #check-result > .alert").forEach(function (e) { e.remove(); });
            mine.innerHTML = theirs.innerHTML;
            doc.querySelectorAll("main > .notice, main > .alert").forEach(function (e) {
              mine.insertBefore(document.importNode(e, true), mine.firstChild);
            });
            form.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
            doc.querySelectorAll("form[data-check] .field").forEach(function (f) {
              var input = f.querySelector("[id]"), errs = f.querySelectorAll(".field-error");
              var here = input && document.getElementById(input.id);
              if (!here || !errs.length) return;
              errs.forEach(function (e) { here.closest(".field").appendChild(document.importNode(e, true)); });
            });
            var first = mine.querySelector("h2");
            if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
          }
        })
        .catch(function (e) {
          // Without the page's help: send the form as a browser would.
          window.__checkError = String(e);
          form.action = btn.getAttribute("formaction");
          form.submit();
        })
        .then(function () { btn.disabled = false; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    document.querySelectorAll("form[data-check]").forEach(checkInPlace);
  });
})();
