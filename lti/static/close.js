"use strict";
// LTI Dynamic Registration: tell the LMS that registration is over, so it closes the frame or
// window it opened and shows the registration to its administrator.
(function () {
  function close() {
    var target = window.opener || window.parent;
    if (target && target !== window) {
      target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
    }
  }
  var button = document.getElementById("lti-close");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", close);
  }
  close();
})();
