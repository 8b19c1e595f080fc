// The learner's attempt page, enhanced: the page works without this file (one form, Save and
// Submit buttons). With it: answers are saved as the learner goes, a countdown shows the time
// left and is announced (politely) at 5 minutes and at 1 minute left, no more often, and an
// error summary takes the focus. No inline script: the app runs under a strict CSP.
"use strict";
(function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
    // A link to a question (its fieldset) focuses the question's first control with the
    // legend and prompt in view, as GOV.UK's error summary does. Without this file the
    // link still scrolls to the question, legend first.
    summary.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target || target.tagName !== "FIELDSET") { return; }
      var control = target.querySelector("input:not([type=hidden]), select, textarea");
      if (!control) { return; }
      event.preventDefault();
      target.scrollIntoView();
      control.focus({ preventScroll: true });
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "#" + target.id);
      }
    });
  }

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

  // ------------------------------------------------------------------ per question
  // A question whose answer changed since the last save says "Not saved yet" (a polite
  // status). Only when a save has not caught up within a second: a choice saved at once
  // says nothing, typing (saved after a pause) says it once. A refused answer's reason is
  // announced once, by the overall save status; the question shows it without announcing.
  var changes = {};  // item code -> changes made; saves compare it with what they sent
  var SHOW_AFTER = 1000;

  function itemOf(element) {
    var question = element.closest && element.closest("fieldset.question");
    var marker = question && question.querySelector("input[type=hidden][name^='item-']");
    return marker ? marker.name.slice(5) : null;
  }

  // `where` is "state" (the polite status: not saved yet) or "refused" (why a save refused
  // it: shown, not announced here, since the overall save status announces it).
  function questionState(code, text, where) {
    var status = document.getElementById("save-state-" + code);
    var box = document.getElementById("save-" + (where || "state") + "-" + code);
    if (!status || !box) { return; }
    say(box, text ? "Question " + status.getAttribute("data-question") + ": " + text : "");
  }

  function changed(element) {
    var code = itemOf(element);
    if (!code) { return; }
    var count = (changes[code] || 0) + 1;
    changes[code] = count;
    questionState(code, "", "refused");  // a new answer: the refusal was of the old one
    window.setTimeout(function () {
      if (changes[code] === count && !stopped) { questionState(code, "not saved yet."); }
    }, SHOW_AFTER);
  }

  function settle(sent, notSaved) {
    var refused = {};
    notSaved.forEach(function (entry) { refused[entry.item] = entry.message; });
    Object.keys(sent).forEach(function (code) {
      if (changes[code] !== sent[code]) { return; }  // changed again meanwhile
      delete changes[code];
      if (refused[code] !== undefined) {
        var reason = (refused[code] || "").replace(/^Question \d+: /, "");
        questionState(code, "");
        questionState(code, "not saved yet" + (reason ? ": " + reason : "") + ".", "refused");
        changes[code] = 0;  // still not saved: only a change can clear it
      } else {
        questionState(code, "");
        questionState(code, "", "refused");
      }
    });
  }

  function saved(data, sent) {
    var text = "Answers saved automatically at " + data.saved_at_text + ".";
    var notSaved = data.not_saved || [];
    settle(sent, notSaved);
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
    var sent = {};
    Object.keys(changes).forEach(function (code) { sent[code] = changes[code]; });
    fetch(saveUrl, {
      method: "POST",
      headers: { "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form))
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.ok && data.saved) {
          saved(data, sent);
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

  form.addEventListener("change", function (event) {
    changed(event.target);
    window.clearTimeout(typingTimer);
    save();
  });
  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target.tagName === "TEXTAREA" || target.type === "text") {
      changed(target);
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

  // ------------------------------------------------------------------ ordering: your order
  // The steps in the order the chosen positions put them, redrawn as positions change (the
  // server draws the same list on every page load).
  function drawOrder(listBox) {
    var selects = form.querySelectorAll("select[data-order='" + listBox.id + "']");
    var list = listBox.querySelector("ol");
    if (!list) { return; }
    var lines = [];
    for (var position = 1; position <= selects.length; position += 1) {
      var texts = [];
      Array.prototype.forEach.call(selects, function (select) {
        if (select.value === String(position)) { texts.push(select.getAttribute("data-step")); }
      });
      if (!texts.length) { lines.push("No step chosen yet"); }
      else if (texts.length === 1) { lines.push(texts[0]); }
      else { lines.push(texts.length + " steps have this position: " + texts.join("; ")); }
    }
    list.textContent = "";
    lines.forEach(function (line) {
      var item = document.createElement("li");
      item.textContent = line;
      list.appendChild(item);
    });
  }
  form.addEventListener("change", function (event) {
    var target = event.target.getAttribute && event.target.getAttribute("data-order");
    var listBox = target && document.getElementById(target);
    if (listBox) { drawOrder(listBox); }
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

  // The time left repeated beside the buttons: "Time left: 12 minutes."
  var besideButtons = document.querySelector("#actions-time [data-countdown]");

  function tick() {
    var left = secondsLeft - Math.floor((Date.now() - started) / 1000);
    say(clock, words(left));
    if (besideButtons && left > 0) {
      var shortWords = words(left).replace(/ left$/, "");
      say(besideButtons, shortWords.charAt(0).toLowerCase() + shortWords.slice(1));
    }
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
    say(document.getElementById("actions-time"),
      "Time is up. Your answers saved before the time limit are kept.");
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
