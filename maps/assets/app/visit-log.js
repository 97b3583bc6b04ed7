// "Log visit" in the app (/app): the visit outcome of a prospect (held, not met, declined, a
// note), sent with the status's ETag (POST /v1/prospects/{id}/visit-outcome, If-Match) so a
// change made meanwhile by someone else is shown, never overwritten. Opened from a stop of the
// visit list and from the detail panel. Loaded after visits.js: its helpers
// (window.PRM_VISITS) make the dialog's elements and say the outcome in the visit list.
(function () {
  "use strict";
  var app = window.PRM_APP;
  var visits = window.PRM_VISITS;
  var panel = document.getElementById("visit-list");
  if (!app || !visits || !panel) return;
  var el = visits.el, field = visits.field, button = visits.button;
  var problemLines = visits.problemLines, say = visits.say;
  var logDialog = null;

  function buildLogDialog() {
    var dlg = el("dialog", null, {id: "vl-log", "aria-labelledby": "vl-log-title"});
    var form = el("form", null, {method: "dialog"});
    form.appendChild(el("h2", "Log visit", {id: "vl-log-title"}));
    var set = el("fieldset");
    set.appendChild(el("legend", "Outcome"));
    [["held", "Visit held"], ["not_met", "Not met"], ["declined", "Declined"]].forEach(function (o, i) {
      var id = "vl-outcome-" + o[0];
      var radio = el("input", null, {type: "radio", name: "outcome", value: o[0], id: id});
      if (!i) radio.checked = true;
      var lab = el("label", null, {"for": id});
      lab.append(radio, " " + o[1]);
      set.appendChild(lab);
    });
    form.appendChild(set);
    var note = el("textarea", null, {id: "vl-note", name: "note", rows: "3", maxlength: "2000"});
    form.appendChild(field("Note (optional)", note));
    form.appendChild(el("p", null, {id: "vl-log-msg", role: "status", "aria-live": "polite"}));
    var row = el("div", null, {"class": "vl-actions"});
    row.append(el("button", "Log it", {type: "submit", id: "vl-log-submit", value: "log"}),
               button("Cancel", function () { dlg.close(); }));
    form.appendChild(row);
    dlg.appendChild(form);
    document.body.appendChild(dlg);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      sendLog(dlg);
    });
    return dlg;
  }

  function openLog(pid, name) {
    logDialog = logDialog || buildLogDialog();
    logDialog.dataset.id = pid;
    logDialog.querySelector("#vl-log-title").textContent = "Log visit: " + name;
    logDialog.querySelector("#vl-note").value = "";
    logDialog.querySelector("#vl-log-msg").textContent = "Reading the prospect's status...";
    logDialog.etag = null;
    logDialog.showModal();
    readStatus(logDialog, pid);
  }

  function readStatus(dlg, pid) {
    return app.api("/v1/prospects/" + pid + "/status").then(function (st) {
      dlg.etag = st.etag;
      dlg.querySelector("#vl-log-msg").textContent = "Status now: " + st.status +
        " (liaison " + (st.assigned_to || "unassigned") + ").";
    }, function (err) {
      dlg.querySelector("#vl-log-msg").textContent = problemLines(err).join(" ");
    });
  }

  function sendLog(dlg) {
    var pid = Number(dlg.dataset.id);
    var out = dlg.querySelector("#vl-log-msg");
    if (!dlg.etag) {
      out.textContent = "The status has not been read yet: try again in a moment.";
      return;
    }
    var outcome = dlg.querySelector("input[name=outcome]:checked").value;
    var note = dlg.querySelector("#vl-note").value.trim();
    var report = {outcome: outcome};
    if (note) report.note = note;
    out.textContent = "Logging...";
    app.api("/v1/prospects/" + pid + "/visit-outcome", {
      method: "POST", headers: {"Content-Type": "application/json", "If-Match": dlg.etag},
      body: JSON.stringify(report)
    }).then(function (done) {
      dlg.close();
      var best = done.scores.reduce(function (a, s) { return a === null || s.score > a ? s.score : a; }, null);
      say("Visit logged: status now " + done.status.status +
          (best === null ? "; no longer scored as a prospect." : "; score now " + best.toFixed(1) + ".") , "ok");
      var sel = app.selected();
      var shown = document.getElementById("detail-status");
      if (sel && sel.provider_id === pid && shown) {
        shown.textContent = "Status: " + done.status.status + " · liaison " + (done.status.assigned_to || "unassigned");
      }
      app.refresh();
    }, function (err) {
      if (err.status === 412) {
        out.textContent = "Someone else changed this prospect since it was read. Its status is reloaded " +
          "below: check it and log again.";
        readStatus(dlg, pid).then(function () { out.prepend("Changed by someone else. "); });
        app.refresh();
      } else if (err.status === 401) {
        out.textContent = "Your session has expired: sign in again, then log the visit (your note is kept " +
          "while this tab is open).";
      } else {
        out.textContent = problemLines(err).join(" ");
      }
    });
  }

  app.addDetailAction(function (row, container) {
    if (panel.hidden) return;  // no visit list for this role
    container.appendChild(button("Log visit", function () { openLog(row.provider_id, row.display_name); },
                                 {id: "vl-detail-log"}));
  });

  window.PRM_VISIT_LOG = {open: openLog};
})();
