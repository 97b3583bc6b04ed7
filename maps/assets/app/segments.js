// Marketing in the app (/app): "Save as segment" turns the current filters into a saved segment
// (PUT /v1/segments) and offers its exports (CSV, XLSX, GeoJSON) as links that download with
// the session. Shown to marketing and above only; the API refuses the others (403) anyway.
//
// The segment's filters are the filter form's fields as they are (the same names as the
// segment filter model, numbers as numbers, yes/no choices as booleans), so a segment holds
// the providers the app lists for them. The map's view is not a filter: a segment covers the
// whole area.
(function () {
  "use strict";
  var app = window.PRM_APP;
  var form = document.getElementById("filter-form");
  var RANKS = ["viewer", "liaison", "marketing", "integration", "admin"];

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  // the form's filters as the segment filter model takes them (blank fields left out)
  function currentFilters() {
    var filters = {};
    new FormData(form).forEach(function (value, key) {
      value = String(value).trim();
      if (!value) return;
      var input = form.elements[key];
      if (input && input.type === "number") value = Number(value);
      else if (input && input.hasAttribute("data-boolean")) value = value === "true";
      filters[key] = value;
    });
    return filters;
  }

  function exportLinks(name, box) {
    box.textContent = "";
    box.appendChild(el("span", "Download " + name + ": "));
    ["csv", "xlsx", "geojson"].forEach(function (fmt, i) {
      if (i) box.appendChild(document.createTextNode(" · "));
      var a = el("a", fmt.toUpperCase(), {
        href: "/v1/segments/" + encodeURIComponent(name) + "/export." + fmt,
        download: name + "." + fmt,
        "class": "segment-export",
        "data-format": fmt
      });
      box.appendChild(a);
    });
  }

  function build() {
    var panel = el("section", null, {id: "segment-save", "aria-labelledby": "segment-title"});
    panel.appendChild(el("h2", "Save as segment", {id: "segment-title"}));
    panel.appendChild(el("p", "Saves the filters above (not the map view) for marketing exports.", {"class": "hint"}));
    var f = el("form", null, {id: "segment-form"});
    f.appendChild(el("label", "Segment name", {"for": "segment-name"}));
    var name = el("input", null, {id: "segment-name", name: "segment_name", maxlength: "100", required: "", autocomplete: "off"});
    f.appendChild(name);
    f.appendChild(el("button", "Save as segment", {type: "submit", id: "segment-submit"}));
    var status = el("p", null, {id: "segment-status", role: "status", "aria-live": "polite"});
    var links = el("p", null, {id: "segment-links"});
    panel.append(f, status, links);
    document.getElementById("filters").appendChild(panel);

    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var segment = name.value.trim();
      if (!segment) return;
      status.className = "";
      status.textContent = "Saving...";
      app.api("/v1/segments", {
        method: "PUT",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({name: segment, filters: currentFilters()})
      }).then(function (saved) {
        status.textContent = "Saved segment " + saved.name + ": " + saved.providers + " providers (" +
          saved.count + " prospect rows, one per provider and site).";
        exportLinks(saved.name, links);
      }, function (err) {
        if (err.status === 401) return;
        var p = err.problem || {};
        var why = (p.errors || []).map(function (x) { return (x.field ? x.field + ": " : "") + x.message; }).join("; ");
        status.className = "error";
        status.textContent = "Could not save the segment. " + (p.title || "Request failed") +
          (p.detail ? ": " + p.detail : "") + (why ? " (" + why + ")" : "");
      });
    });
  }

  app.api("/v1/session").then(function (session) {
    var allowed = RANKS.indexOf(session.role) >= RANKS.indexOf("marketing");
    if (allowed) build();
    document.body.dataset.segments = allowed ? "shown" : "hidden";  // for tests: decided
  }, function () { /* app.js shows the session's state */ });
})();
