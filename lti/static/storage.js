// LTI client-side platform storage (lti.put_data / lti.get_data by postMessage), used when the
// LMS frame blocks cookies and the platform offers storage (Canvas does).
"use strict";
window.ltiStorage = (function () {
  function target(name) {
    var parent = window.opener || window.parent;
    try {
      if (name && parent.frames[name]) { return parent.frames[name]; }
    } catch (e) { /* cross-origin frame lookup can throw: fall back to the parent */ }
    return parent;
  }
  function call(subject, payload, origin, storageTarget) {
    return new Promise(function (resolve, reject) {
      var id = subject + "-" + Math.random().toString(36).slice(2);
      function onMessage(event) {
        if (event.origin !== origin || !event.data || event.data.message_id !== id) { return; }
        window.removeEventListener("message", onMessage);
        if (event.data.error) { reject(event.data.error); } else { resolve(event.data); }
      }
      window.addEventListener("message", onMessage);
      var message = Object.assign({subject: subject, message_id: id}, payload);
      target(storageTarget).postMessage(message, origin);
      setTimeout(function () { reject("timeout"); }, 5000);
    });
  }
  return {
    put: function (key, value, origin, storageTarget) {
      return call("lti.put_data", {key: key, value: value}, origin, storageTarget);
    },
    get: function (key, origin, storageTarget) {
      return call("lti.get_data", {key: key}, origin, storageTarget);
    }
  };
})();

(function () {
  var form = document.getElementById("lti-storage-form");
  if (!form) { return; }
  var d = form.dataset;
  window.ltiStorage.get("lti-state-" + d.state, d.platformOrigin, d.storageTarget)
    .then(function (data) {
      form.elements.browser_secret.value = data.value || "";
      form.submit();
    })
    .catch(function () { form.submit(); });
})();
