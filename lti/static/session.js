// Staff pages: warn before the launch ends (lti/session_pages.py) and continue it without
// reloading, so choices not yet saved stay on the page. Without JavaScript the server shows
// the warning on a page loaded late and the Continue button is a plain form POST.
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  if (!box) { return; }
  var form = box.querySelector("form");
  var text = document.getElementById("session-warning-text");
  var status = document.getElementById("session-status");
  var warnSeconds = parseInt(box.getAttribute("data-warn-seconds"), 10);
  var timer = null;

  function show() {
    var message = text.textContent;
    box.hidden = false;
    // Re-set the text so that screen readers announce the alert as it appears.
    text.textContent = "";
    window.setTimeout(function () { text.textContent = message; }, 100);
  }

  function schedule(secondsLeft) {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(show, Math.max(0, (secondsLeft - warnSeconds) * 1000));
  }

  function useToken(token) {
    document.querySelectorAll("input[name=ls]").forEach(function (input) { input.value = token; });
    document.querySelectorAll("a[href*='ls=']").forEach(function (link) {
      var url = new URL(link.href, window.location.href);
      url.searchParams.set("ls", token);
      link.href = url.toString();
    });
    var here = new URL(window.location.href);
    if (here.searchParams.has("ls")) {
      here.searchParams.set("ls", token);
      window.history.replaceState(null, "", here.toString());
    }
  }

  if (box.hidden) { schedule(parseInt(box.getAttribute("data-seconds-left"), 10)); }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error("renew failed"); }
      return response.json();
    }).then(function (data) {
      useToken(data.ls);
      // The button goes with the warning: focus moves to the page, not to nowhere.
      var main = document.getElementById("main");
      if (main && box.contains(document.activeElement)) { main.focus({ preventScroll: true }); }
      box.hidden = true;
      status.textContent = "Your session continues. It now ends at " + data.ends + ".";
      schedule(data.seconds_left);
    }).catch(function () { form.submit(); });
  });
}());
