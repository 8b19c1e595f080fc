"use strict";
(function () {
  var form = document.getElementById("lti-auto-submit");
  if (form) { form.submit(); }
})();
