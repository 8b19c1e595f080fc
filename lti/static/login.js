// Login step: continue to the platform when the state cookie can be kept (a partitioned cookie)
// or the platform offers storage; otherwise offer to open the tool in a new window.
"use strict";
(function () {
  var box = document.getElementById("lti-login");
  if (!box) { return; }
  var d = box.dataset;
  function go() { window.location.replace(d.authUrl); }
  function offerNewWindow() {
    document.getElementById("lti-login-wait").hidden = true;
    document.getElementById("lti-new-window").hidden = false;
  }
  function cookiesWork() {
    var probe = "lti-probe=1; path=/lti; max-age=60; SameSite=None; Secure; Partitioned";
    if (window.location.protocol !== "https:") { probe = "lti-probe=1; path=/lti; max-age=60"; }
    document.cookie = probe;
    return document.cookie.indexOf("lti-probe=1") !== -1;
  }
  if (d.storageTarget && window.ltiStorage) {
    window.ltiStorage.put("lti-state-" + d.state, d.secret, d.platformOrigin, d.storageTarget)
      .then(go)
      .catch(function () { if (cookiesWork()) { go(); } else { offerNewWindow(); } });
  } else if (cookiesWork()) {
    go();
  } else {
    offerNewWindow();
  }
})();
