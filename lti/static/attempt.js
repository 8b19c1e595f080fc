// The learner's attempt page, enhanced: the page works without this file (one form, Save and
// Submit buttons). With it: answers are saved as the learner goes, a countdown shows the time
// left and is announced (politely) at 5 minutes and at 1 minute left, no more often, and an
// error summary takes the focus. No inline script: the app runs under a strict CSP.
"use strict";
(function () {
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }

  var form = document.getElementById("attempt-form");
  if (!form) { return; }

  // ------------------------------------------------------------------ save as you go
  var statusBox = document.getElementById("save-status");
  var alertBox = document.getElementById("save-alert");
  var saveUrl = form.getAttribute("action");
  var saving = false;
  var again = false;
  var typingTimer = null;
  var stopped = false;

  function say(box, text) {
    if (box && box.textContent !== text) { box.textContent = text; }
  }

  function questionNumber(code) {
    var marker = form.querySelector('input[name="item-' + code + '"]');
    var fieldset = marker && marker.closest("fieldset");
    return fieldset ? fieldset.id.replace("question-", "") : code;
  }

  function saved(data) {
    var text = "Answers saved automatically at " + data.saved_at_text + ".";
    var notSaved = data.not_saved || [];
    if (notSaved.length) {
      text += " Not saved yet: " + notSaved.map(function (entry) {
        return entry.message || ("question " + questionNumber(entry.item));
      }).join("; ") + ".";
    }
    say(statusBox, text);
    say(alertBox, "");
  }

  function failed(message) {
    say(alertBox, message ||
      "Your answers could not be saved automatically. Select Save answers to try again.");
  }

  function save() {
    if (stopped) { return; }
    if (saving) { again = true; return; }
    saving = true;
    fetch(saveUrl, {
      method: "POST",
      headers: { "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form))
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.ok && data.saved) {
          saved(data);
        } else {
          if (response.status === 409) { stopped = true; }
          failed(data.message);
        }
      });
    }).catch(function () {
      failed();
    }).then(function () {
      saving = false;
      if (again) { again = false; save(); }
    });
  }

  form.addEventListener("change", function () {
    window.clearTimeout(typingTimer);
    save();
  });
  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target.tagName === "TEXTAREA" || target.type === "text") {
      window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(save, 3000);
    }
  });
  // The form's own buttons post it as usual; no autosave may race with them.
  form.addEventListener("submit", function () {
    stopped = true;
    window.clearTimeout(typingTimer);
  });

  // ------------------------------------------------------------------ where the learner is
  // Save answers returns to the question the learner was on (the server redirects to it).
  var at = document.getElementById("attempt-at");
  form.addEventListener("focusin", function (event) {
    var question = event.target.closest && event.target.closest("fieldset.question");
    if (at && question) { at.value = question.id; }
  });

  // ------------------------------------------------------------------ word counts
  function countWords(textarea) {
    var box = document.getElementById(textarea.getAttribute("data-word-count"));
    if (!box) { return; }
    var words = textarea.value.trim() ? textarea.value.trim().split(/\s+/).length : 0;
    box.textContent = words + (words === 1 ? " word" : " words");
    box.hidden = false;
  }
  Array.prototype.forEach.call(form.querySelectorAll("textarea[data-word-count]"), function (t) {
    countWords(t);
    t.addEventListener("input", function () { countWords(t); });
  });

  // ------------------------------------------------------------------ countdown
  var clock = document.getElementById("countdown");
  var live = document.getElementById("countdown-live");
  var secondsLeft = parseInt(form.getAttribute("data-seconds-left"), 10);
  if (!clock || !live || isNaN(secondsLeft) || secondsLeft <= 0) { return; }
  var started = Date.now();
  var announcedFive = secondsLeft <= 300;
  var announcedOne = secondsLeft <= 60;
  var timer = null;

  function words(seconds) {
    if (seconds <= 0) { return "Time is up"; }
    var minutes = Math.floor(seconds / 60);
    if (minutes === 0) { return "Less than 1 minute left"; }
    return minutes + (minutes === 1 ? " minute left" : " minutes left");
  }

  function tick() {
    var left = secondsLeft - Math.floor((Date.now() - started) / 1000);
    say(clock, words(left));
    if (left <= 60 && !announcedOne) {
      announcedOne = true;
      announcedFive = true;
      live.textContent = "1 minute left. Submit your answers now.";
    } else if (left <= 300 && !announcedFive) {
      announcedFive = true;
      live.textContent = "5 minutes left. Your answers are saved as you go; submit before the time is up.";
    }
    if (left <= 0) {
      window.clearInterval(timer);
      timeUp();
    }
  }
  // Time up: say so (role=alert), stop editing, and after the grace for the last save, load
  // the page again: the server submits the answers saved in time.
  function timeUp() {
    say(clock, "Time is up");
    window.clearTimeout(typingTimer);
    save();
    stopped = true;
    say(document.getElementById("time-up-alert"),
      "Time is up. Your answers saved before the time limit are kept and will be submitted.");
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.question"), function (f) {
      f.disabled = true;
    });
    var saveButton = document.getElementById("save-answers");
    if (saveButton) { saveButton.hidden = true; }
    var reloadUrl = form.getAttribute("data-reload-url");
    if (reloadUrl) { window.setTimeout(function () { window.location.href = reloadUrl; }, 35000); }
  }
  timer = window.setInterval(tick, 1000);
})();
