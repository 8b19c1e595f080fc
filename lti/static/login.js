// Login step: continue to the platform when the state cookie the server set came back (asked
// of /lti/login/check: the probe is the real cookie, so it tests exactly what the launch
// needs) or the platform offers storage. Otherwise a resource link offers a new window, and
// deep linking (which must answer from the LMS frame) explains what to change.
"use strict";
(function () {
  var box = document.getElementById("lti-login");
  if (!box) { return; }
  var d = box.dataset;
  document.getElementById("lti-login-wait").hidden = false;
  function go() { window.location.replace(d.authUrl); }
  function blocked() {
    document.getElementById("lti-login-wait").hidden = true;
    var help = document.getElementById(d.deepLinking ? "lti-cookies-needed" : "lti-new-window");
    help.hidden = false;
  }
  function stateCookieCameBack() {
    return fetch(d.checkUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (answer) { return answer.cookie === true; })
      .catch(function () { return false; });
  }
  function checkCookie() {
    return stateCookieCameBack().then(function (kept) { if (kept) { go(); } else { blocked(); } });
  }
  if (d.storageTarget && window.ltiStorage) {
    window.ltiStorage.put("lti-state-" + d.state, d.secret, d.platformOrigin, d.storageTarget)
      .then(go)
      .catch(checkCookie);
  } else {
    checkCookie();
  }
})();
