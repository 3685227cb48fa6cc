// Stretchwise web pages. Everything works without this file; with it:
// - questions appear and disappear by the skip logic of content/questions.yaml
//   (each question's data-when, evaluated as recommender/questions.py does),
// - a yes on the safety screen offers to go straight to the advice,
// - the routine page gets its Print button,
// - after a failed submit, the list of problems takes the focus.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function holds(cond, values) {
    if (cond.any) return cond.any.some(function (c) { return holds(c, values); });
    if (cond.not) return !holds(cond.not, values);
    var value = values[cond.answer], vals = cond.values;
    if (value === null || value === undefined) return false;
    switch (cond.test) {
      case "is":
      case "one_of": return vals.some(function (v) { return v === value; });
      case "includes":
      case "includes_any": return vals.some(function (v) { return value.indexOf(v) >= 0; });
      case "at_least": return value >= vals[0];
      case "at_most": return value <= vals[0];
      case "more_than": return value > vals[0];
      case "less_than": return value < vals[0];
    }
    return false;
  }

  function conditions(el) {
    return el.dataset.when ? JSON.parse(el.dataset.when) : [];
  }

  function checked(q) {
    return Array.prototype.filter.call(q.querySelectorAll("input"), function (i) {
      return i.checked && !i.disabled;
    }).map(function (i) { return i.value; });
  }

  // The value a question gives now, as recommender/web/form.py would read it.
  function read(q, fallback) {
    var kind = q.dataset.kind;
    if (kind === "any_of") return checked(q);
    if (kind === "yes_no") {
      var yn = checked(q);
      return yn.length ? yn[0] === "yes" : fallback;
    }
    if (kind === "one_of") {
      var one = checked(q);
      return one.length ? one[0] : fallback;
    }
    var text = q.querySelector("input").value.trim();
    if (kind === "number") {
      if (text === "") return fallback;
      return /^[+-]?\d{1,6}$/.test(text) ? parseInt(text, 10) : null;
    }
    return text;
  }

  function show(el, shown) {
    el.hidden = !shown;
    Array.prototype.forEach.call(el.querySelectorAll("input"), function (i) { i.disabled = !shown; });
  }

  function update(form) {
    var questions = form.querySelectorAll(".q");
    var values = {}, firstYes = null;
    Array.prototype.forEach.call(questions, function (q) {
      if (!q.dataset.item) values[q.dataset.field] = JSON.parse(q.dataset.default);
    });
    Array.prototype.forEach.call(questions, function (q) {
      var field = q.dataset.field, fallback = JSON.parse(q.dataset.default);
      var shown = conditions(q).every(function (c) { return holds(c, values); });
      show(q, shown);
      if (shown) {
        Array.prototype.forEach.call(q.querySelectorAll(".choice[data-when]"), function (choice) {
          show(choice, conditions(choice).every(function (c) { return holds(c, values); }));
        });
      }
      if (q.dataset.item) {
        var list = values[field] || [];
        if (shown && read(q, false) === true) {
          list.push(q.dataset.item);
          if (!firstYes) firstYes = q;
        }
        values[field] = list;
      } else {
        values[field] = shown ? read(q, fallback) : fallback;
      }
    });
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.section"), function (s) {
      s.hidden = !Array.prototype.some.call(s.querySelectorAll(".q"), function (q) { return !q.hidden; });
    });
    // A yes on the safety screen: offer the advice right below that question.
    var stop = document.getElementById("stop-box");
    if (stop) {
      if (firstYes && firstYes.nextElementSibling !== stop) firstYes.after(stop);
      stop.hidden = !firstYes;
    }
  }

  function start() {
    var form = document.getElementById("questions");
    if (form) {
      update(form);
      form.addEventListener("change", function () { update(form); });
      form.addEventListener("input", function () { update(form); });
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
