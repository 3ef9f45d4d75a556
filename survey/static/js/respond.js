// Progressive enhancement of the respondent's pages (issue 13). Without this script every
// page works as before: the answers travel in the form from page to page. With it:
//
// - A draft of the answers is kept in this tab's sessionStorage (never sent anywhere, gone
//   when the tab closes) and put back into the page on back, forward, reload and return:
//   a page the browser shows from its history lacks answers given after it was made.
//   The start page offers to go on where the respondent left off.
// - Leaving the questionnaire by a link with answers in it asks first (beforeunload).
// - The language switch lands on the language buttons again, the view where it was.
// - On a shared device nothing of one person's answers stays for the next: the draft is
//   wiped on the thank-you page and after the idle time the page names (data-idle-minutes,
//   STIGEN_RESPONDENT_IDLE_MINUTES), and a page from the history that still shows a wiped
//   draft's answers is emptied and replaced by the start page.
// - The error summary takes the focus where `autofocus` is not honoured, and its links move
//   the focus into their field.
(function () {
  "use strict";
  var KEY = "stigen-draft";
  var WIPED = "stigen-wiped";  // nonces of drafts wiped in this tab (random, nothing else)
  var storage = null;
  try {
    storage = window.sessionStorage;
    storage.getItem(KEY);
  } catch (error) {
    storage = null;  // storage refused (private mode, a policy): the form alone still works
  }

  function load(key, fallback) {
    if (!storage) { return fallback; }
    try { return JSON.parse(storage.getItem(key)) || fallback; } catch (error) { return fallback; }
  }
  function store(key, value) {
    if (!storage) { return; }
    try { storage.setItem(key, JSON.stringify(value)); } catch (error) { /* full: form only */ }
  }
  function wipe(nonce) {
    if (!storage) { return; }
    storage.removeItem(KEY);
    if (nonce) {
      var gone = load(WIPED, []).filter(function (n) { return n !== nonce; });
      gone.push(nonce);
      store(WIPED, gone.slice(-20));
    }
  }
  function isWiped(nonce) { return load(WIPED, []).indexOf(nonce) >= 0; }

  // A draft untouched for longer than the idle time is wiped, never restored.
  function currentDraft(idleMs) {
    var draft = load(KEY, null);
    if (draft && idleMs && Date.now() - (draft.touched || 0) >= idleMs) {
      wipe(draft.nonce);
      return null;
    }
    return draft;
  }

  function hidden(form, name, value, before) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.insertBefore(input, before || null);
    return input;
  }

  function errorSummary() {
    var summary = document.querySelector(".error-summary");
    if (!summary) { return; }
    if (document.activeElement !== summary) { summary.focus(); }
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) { return; }
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) { return; }
      var input = target.matches("input, textarea, select") ? target
        : target.querySelector("input, textarea, select");
      if (!input) { return; }
      event.preventDefault();
      var legend = target.querySelector("legend") || target;
      (target.tagName === "TEXTAREA" && target.labels && target.labels[0] || legend).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }

  // --- a questionnaire page --------------------------------------------------------------

  function questionnaire(form) {
    var items = form.getAttribute("data-items").split(" ");
    var idleMs = Number(form.getAttribute("data-idle-minutes")) * 60000;
    var startUrl = form.getAttribute("data-start");
    var nonce = form.elements.nonce.value;
    var anchor = form.querySelector(".nav-buttons");
    var leaving = false;
    var lastActive = Date.now();
    var lastSaved = 0;

    function fields(code) {
      return Array.prototype.filter.call(form.elements, function (el) { return el.name === code; });
    }
    function collect() {
      var answers = {};
      items.forEach(function (code) {
        var values = [];
        fields(code).forEach(function (el) {
          if (el.type === "radio" || el.type === "checkbox") {
            if (el.checked) { values.push(el.value); }
          } else if (el.value !== "") {
            values.push(el.value);
          }
        });
        answers[code] = values;
      });
      return answers;
    }
    function apply(answers) {
      items.forEach(function (code) {
        if (!Object.prototype.hasOwnProperty.call(answers, code)) { return; }
        var values = answers[code].map(String);
        var present = fields(code);
        var shown = present.filter(function (el) { return el.type !== "hidden"; });
        if (shown.length) {
          shown.forEach(function (el) {
            if (el.tagName === "TEXTAREA") { el.value = values[0] || ""; }
            else { el.checked = values.indexOf(el.value) >= 0; }
          });
        } else {
          // Carried from another page: the draft's values replace what the page carried.
          present.forEach(function (el) { el.parentNode.removeChild(el); });
          values.forEach(function (value) { hidden(form, code, value, anchor); });
        }
      });
    }
    function hasAnswers() {
      var answers = collect();
      return items.some(function (code) { return answers[code].length > 0; });
    }
    function save(extra) {
      if (leaving) { return; }  // sent away or cleared: nothing may be written again
      var draft = {
        office: form.getAttribute("data-office"), nonce: nonce, v: form.elements.v.value,
        order: form.elements["ladder-order"].value, page: form.elements.page.value,
        admission: form.elements.admission ? form.elements.admission.value : "",
        answers: collect(), touched: Date.now()
      };
      Object.keys(extra || {}).forEach(function (key) { draft[key] = extra[key]; });
      store(KEY, draft);
      lastSaved = draft.touched;
    }
    function clear(afterIdle) {
      // Empty the page first, so that nothing shows while the start page loads.
      leaving = true;
      form.hidden = true;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (items.indexOf(el.name) < 0) { return; }
        if (el.type === "hidden") { el.parentNode.removeChild(el); }
        else if (el.type === "radio" || el.type === "checkbox") { el.checked = false; }
        else { el.value = ""; }
      });
      wipe(nonce);
      window.location.replace(startUrl + (afterIdle ? "?tomt=1" : ""));
    }
    function idle() {
      if (!leaving && Date.now() - lastActive >= idleMs) { clear(true); }
    }
    function active() {
      lastActive = Date.now();
      if (lastActive - lastSaved > 5000) { save(); }  // the draft's clock, not on every move
    }

    function show() {
      leaving = false;
      var draft = load(KEY, null);
      if (draft && draft.nonce === nonce && Date.now() - (draft.touched || 0) >= idleMs) {
        clear(true);  // back to a page left idle too long (the tab was asleep)
        return;
      }
      if (isWiped(nonce)) { clear(false); return; }  // sent, or cleared before
      if (draft && draft.nonce === nonce) {
        lastActive = Math.max(lastActive, draft.touched || 0);
        apply(draft.answers || {});
        if (draft.scroll !== undefined && draft.scrollPage === form.elements.page.value) {
          window.scrollTo(0, draft.scroll);
        }
      }
      idle();
      if (!leaving) { save(); }  // a fresh draft for this page (a new one after a restart)
    }

    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      var extra = {};
      if (button && button.name === "lang") {
        // Land where the switch was pressed, on the same page (the server keeps the page).
        extra.scroll = window.scrollY;
        extra.scrollPage = form.elements.page.value;
      }
      if (button && button.name === "nav" && button.value === "submit") { extra.sending = true; }
      save(extra);
      leaving = true;
    });
    form.addEventListener("change", function () { active(); save(); });
    form.addEventListener("input", function () { active(); save(); });
    ["pointerdown", "keydown", "scroll", "touchstart"].forEach(function (type) {
      window.addEventListener(type, active, { passive: true });
    });
    window.addEventListener("beforeunload", function (event) {
      if (leaving || !hasAnswers()) { return; }
      // Browsers ask only after a tap on this page; the draft keeps the answers anyway.
      if (navigator.userActivation && !navigator.userActivation.hasBeenActive) { return; }
      save();
      event.preventDefault();
      event.returnValue = "";  // the browser says its own words; older ones need this
    });
    document.addEventListener("visibilitychange", idle);
    window.addEventListener("pageshow", show);
    window.setInterval(idle, 10000);
    if (document.readyState === "complete") { show(); }
  }

  // --- the start page: go on where you left off ------------------------------------------

  function startPage(form) {
    var idleMs = Number(form.getAttribute("data-idle-minutes")) * 60000;
    var draft = currentDraft(idleMs);
    var note = document.getElementById("resume-note");
    if (!draft || draft.office !== form.getAttribute("data-office") || !note) { return; }
    var admission = form.elements.admission;
    if ((admission ? admission.value : "") !== (draft.admission || "")) { return; }
    var button = form.querySelector("button[name=nav]");
    form.elements.nonce.value = draft.nonce;
    form.elements.v.value = draft.v;
    form.elements["ladder-order"].value = draft.order || "";
    form.elements.page.value = draft.page || "0";
    Object.keys(draft.answers || {}).forEach(function (code) {
      draft.answers[code].forEach(function (value) { hidden(form, code, value, button); });
    });
    button.value = "resume";
    button.textContent = form.getAttribute("data-resume-label");
    note.hidden = false;
    document.getElementById("resume-discard").addEventListener("click", function () {
      wipe(draft.nonce);
      window.location.reload();
    });
  }

  errorSummary();
  var form = document.querySelector("form[data-draft=questionnaire]");
  if (form) { questionnaire(form); }
  var start = document.querySelector("form[data-draft=start]");
  if (start) { startPage(start); }
  if (document.querySelector("[data-draft=sent]")) {
    var sent = load(KEY, null);
    wipe(sent && sent.nonce);
  }
})();
