// Stretchwise web pages. Everything works without this file; with it:
// - questions appear and disappear by the skip logic of content/questions.yaml
//   (each question's data-when, evaluated as recommender/questions.py does),
// - a yes on the safety screen offers to go straight to the advice,
// - the routine page gets its Print button,
// - after a failed submit, the list of problems takes the focus,
// - "Start" on the routine page walks the routine in time (follow-along below):
//   it plays the sequence the server wrote into the page (#follow-data), and keeps
//   the days done in this browser only (localStorage); nothing is sent anywhere.
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


  // ------------------------------------------------------------------ follow along

  var TRACKER_KEY = "stretchwise-tracker";
  var TRACKER_DAYS = 14;

  function isoDay(d) {
    var m = d.getMonth() + 1, day = d.getDate();
    return d.getFullYear() + "-" + (m < 10 ? "0" : "") + m + "-" + (day < 10 ? "0" : "") + day;
  }

  function fromIso(s) {
    var p = s.split("-");
    return new Date(+p[0], +p[1] - 1, +p[2]);
  }

  // The days done, kept in this browser only: {start: "YYYY-MM-DD", done: ["YYYY-MM-DD", ...]}.
  function loadTracker(today) {
    var t = null;
    try { t = JSON.parse(window.localStorage.getItem(TRACKER_KEY) || "null"); } catch (e) { t = null; }
    if (!t || typeof t.start !== "string" || !Array.isArray(t.done)) t = {start: isoDay(today), done: []};
    var end = fromIso(t.start);
    end.setDate(end.getDate() + TRACKER_DAYS);
    if (today >= end || today < fromIso(t.start)) t = {start: isoDay(today), done: []};  // a new fortnight
    return t;
  }

  function saveTracker(t) {
    try { window.localStorage.setItem(TRACKER_KEY, JSON.stringify(t)); return true; } catch (e) { return false; }
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function drawTracker(table, t) {
    while (table.rows.length) table.deleteRow(0);
    var day = fromIso(t.start), names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    for (var w = 0; w < 2; w++) {
      var row = table.insertRow();
      var th = el("th", "", "Week " + (w + 1));
      th.scope = "row";
      row.appendChild(th);
      for (var i = 0; i < 7; i++) {
        var iso = isoDay(day), done = t.done.indexOf(iso) >= 0;
        var cell = row.insertCell();
        cell.className = done ? "done" : "";
        cell.dataset.day = iso;
        cell.appendChild(el("span", "day", names[day.getDay()] + " " + day.getDate()));
        cell.appendChild(el("span", "box", done ? "\u2713" : ""));
        cell.appendChild(el("span", "vh", done ? " done" : " not yet"));
        day.setDate(day.getDate() + 1);
      }
    }
  }

  function follow() {
    var island = document.getElementById("follow-data");
    var box = document.getElementById("follow-start-box");
    if (!island || !box) return;
    var data = JSON.parse(island.textContent);
    var $ = function (id) { return document.getElementById(id); };
    var panel = $("follow"), run = $("follow-run"), end = $("follow-end");
    var say = $("follow-say"), count = $("follow-count"), bar = $("follow-bar");
    var go = $("follow-go"), pause = $("follow-pause");
    var steps = [];  // every step of every exercise, in order
    data.exercises.forEach(function (ex, e) {
      ex.sequence.forEach(function (s) { steps.push({ex: e, step: s}); });
    });
    var at = -1, left = 0, done = 0, paused = false, timer = null, shown = -1;
    var PHASE = {begin: "Get ready", hold: "Hold", let_go: "Let go", rest: "Rest", ready: "Change sides", reps: "Count"};

    function stopTimer() { if (timer !== null) { window.clearTimeout(timer); timer = null; } }

    function showExercise(e) {
      var ex = data.exercises[e];
      shown = e;
      $("follow-where").textContent = "Exercise " + (e + 1) + " of " + data.exercises.length;
      $("follow-name").textContent = ex.name;
      $("follow-dose").textContent = ex.variant + " \u00b7 " + ex.dose;
      var figure = $("follow-figure");
      figure.textContent = "";
      var card = document.querySelectorAll("section.card")[e];
      var svg = card && card.querySelector("svg");
      if (svg) {
        var copy = svg.cloneNode(true);
        Array.prototype.forEach.call(copy.querySelectorAll("[id]"), function (n) { n.removeAttribute("id"); });
        copy.removeAttribute("aria-labelledby");
        copy.setAttribute("aria-hidden", "true");
        figure.appendChild(copy);
      }
      var list = $("follow-steps");
      list.textContent = "";
      ex.steps.forEach(function (s) { list.appendChild(el("li", "", s)); });
      $("follow-cautions").textContent = ex.cautions.join(" ");
    }

    function draw() {
      var cur = steps[at], s = cur.step, active = document.activeElement;
      panel.dataset.kind = s.kind;
      panel.dataset.side = s.side || "";
      $("follow-phase").textContent = s.kind === "ready" ? "Now the " + s.side + " side" :
        (PHASE[s.kind] + (s.side && s.kind !== "begin" ? " \u00b7 " + s.side + " side" : ""));
      if (s.seconds) {
        count.textContent = String(left);
        bar.style.width = (100 * left / s.seconds) + "%";
      } else if (s.kind === "reps") {
        count.textContent = done + " of " + s.reps;
        bar.style.width = (100 * done / s.reps) + "%";
      } else {
        count.textContent = "";
        bar.style.width = "0";
      }
      go.hidden = s.seconds !== undefined;
      go.textContent = s.kind === "reps" ? "Done one" : "Go";
      pause.hidden = s.seconds === undefined;
      pause.textContent = paused ? "Resume" : "Pause";
      $("follow-next").hidden = cur.ex === data.exercises.length - 1;
      // a button that was just pressed and is now hidden must not drop the keyboard's place
      if (active && active.tagName === "BUTTON" && active.hidden && panel.contains(active)) {
        (go.hidden ? pause : go).focus();
      }
    }

    function tick() {
      timer = null;
      if (paused) return;
      left -= 1;
      if (left <= 0) { enter(at + 1); return; }
      draw();
      timer = window.setTimeout(tick, 1000);
    }

    function enter(i) {
      stopTimer();
      if (i >= steps.length) { finish(); return; }
      at = i;
      var cur = steps[at], s = cur.step;
      var first = cur.ex !== shown;
      if (first) showExercise(cur.ex);
      left = s.seconds || 0;
      done = 0;
      var words = s.say;
      if (first) words = data.exercises[cur.ex].name + ", exercise " + (cur.ex + 1) + " of " + data.exercises.length + ". " + words;
      say.textContent = words;
      draw();
      if (s.seconds && !paused) timer = window.setTimeout(tick, 1000);
    }

    function finish() {
      stopTimer();
      at = steps.length;
      run.hidden = true;
      end.hidden = false;
      var today = new Date();
      var t = loadTracker(today);
      if (t.done.indexOf(isoDay(today)) < 0) t.done.push(isoDay(today));
      var kept = saveTracker(t);
      drawTracker($("follow-tracker"), t);
      say.textContent = "Done for today. Today is ticked on your tracker" +
        (kept ? ", kept on this device only." : ", but this browser would not keep it.");
      $("follow-title").focus();
    }

    function close() {
      stopTimer();
      document.body.classList.remove("following");
      panel.hidden = true;
      box.hidden = false;
      $("follow-start").focus();
    }

    $("follow-start").addEventListener("click", function () {
      document.body.classList.add("following");
      box.hidden = true;
      panel.hidden = false;
      run.hidden = false;
      end.hidden = true;
      paused = false;
      shown = -1;
      enter(0);
      $("follow-title").focus();
    });
    go.addEventListener("click", function () {
      var s = steps[at].step;
      if (s.kind === "reps") {
        done += 1;
        if (done >= s.reps) { enter(at + 1); return; }
        say.textContent = done + " of " + s.reps + ".";
        draw();
      } else {
        enter(at + 1);
      }
    });
    pause.addEventListener("click", function () {
      paused = !paused;
      stopTimer();
      say.textContent = paused ? "Paused." : "Going on.";
      if (!paused) timer = window.setTimeout(tick, 1000);
      draw();
    });
    $("follow-skip").addEventListener("click", function () { enter(at + 1); });
    $("follow-next").addEventListener("click", function () {
      var e = steps[at].ex, i = at;
      while (i < steps.length && steps[i].ex === e) i++;
      enter(i);
    });
    $("follow-stop").addEventListener("click", close);
    $("follow-close").addEventListener("click", close);
    $("follow-forget").addEventListener("click", function () {
      try { window.localStorage.removeItem(TRACKER_KEY); } catch (e) { /* nothing was kept */ }
      var t = {start: isoDay(new Date()), done: []};
      drawTracker($("follow-tracker"), t);
      say.textContent = "Your ticks are cleared from this device.";
    });
    $("follow-print").addEventListener("click", function () {
      document.body.classList.add("print-tracker");
      window.print();
    });
    window.addEventListener("afterprint", function () { document.body.classList.remove("print-tracker"); });
    box.hidden = false;
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
    follow();
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
