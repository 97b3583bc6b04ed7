// The liaison's visit day in the app (/app): the visit list, the route, exports; its start and
// end are visit-places.js (loaded before this one, made from here with this one's helpers).
// Loaded after app.js; uses only its hooks (window.PRM_APP, the "prm:rows" and "prm:list-grown"
// events, the <section id="visit-list"> slot). "Log visit" (the visit outcome) is
// visit-log.js, loaded after this one: it uses the helpers this one shares (window.PRM_VISITS).
//
// Everything is saved through the API (/v1/visit-lists/{day}, one list per liaison and day).
// Edits not saved yet (the start and end form, a stop's visit, a target added while the session
// had expired) are kept in sessionStorage, so an expired session loses nothing: the panel stays
// on screen, says so, and the edits come back after signing in again.
(function () {
  "use strict";
  var app = window.PRM_APP;
  var panel = document.getElementById("visit-list");
  if (!app || !panel) return;
  var ROLES = ["viewer", "liaison", "marketing", "integration", "admin"];
  var STORE = "prm.visits.draft";
  var saved = null;         // the day as the API last gave it (null: no list for the day yet)
  var draft = loadDraft();  // {day, places: {...}, stops: {pid: {...}}, adds: {pid: name}}
  var routeLayer = L.layerGroup().addTo(app.map);

  // ---------------------------------------------------------------- small helpers

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function button(text, onClick, attrs) {
    var b = el("button", text, Object.assign({type: "button"}, attrs || {}));
    b.addEventListener("click", onClick);
    return b;
  }

  function field(labelText, input) {
    var wrap = el("div", null, {"class": "vl-field"});
    wrap.appendChild(el("label", labelText, {"for": input.id}));
    wrap.appendChild(input);
    return wrap;
  }

  function today() {
    var d = new Date();
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  function hhmm(iso) {  // the API's times carry the day's zone offset: show the wall clock there
    return iso ? String(iso).slice(11, 16) : "";
  }

  function problemLines(err) {
    var p = (err && err.problem) || {};
    var lines = [(p.title || "Request failed") + (p.detail ? ": " + p.detail : "")];
    (p.errors || []).forEach(function (e) {
      lines.push((e.field ? e.field + ": " : "") + e.message + (e.value ? " (" + e.value + ")" : ""));
    });
    return lines;
  }

  function say(text, kind) {
    msg.textContent = "";
    msg.className = kind || "";
    (Array.isArray(text) ? text : [text]).forEach(function (line, i) {
      if (i) msg.appendChild(el("br"));
      msg.appendChild(document.createTextNode(line));
    });
    if (kind && !panel.hidden && msg.scrollIntoView) msg.scrollIntoView({block: "nearest"});
  }

  function failed(what) {
    return function (err) {
      if (err && err.status === 401) {
        say("Your session has expired: the visit list stays here and your unsaved changes are " +
            "kept in this tab. Sign in again (link above) to save them.", "expired");
      } else {
        say([what + " failed."].concat(problemLines(err)), "error");
      }
      return Promise.reject(err);
    };
  }

  function dayUrl(tail) {
    return "/v1/visit-lists/" + dayInput.value + (tail || "");
  }

  // ---------------------------------------------------------------- drafts (sessionStorage)

  function loadDraft() {
    try {
      return JSON.parse(sessionStorage.getItem(STORE)) || null;
    } catch (e) {
      return null;
    }
  }

  function draftFor(day) {
    if (!draft || draft.day !== day) draft = {day: day, places: null, stops: {}, adds: {}};
    return draft;
  }

  function keep() {
    try {
      sessionStorage.setItem(STORE, JSON.stringify(draft));
    } catch (e) { /* private mode or full: the edits stay on screen only */ }
  }

  // ---------------------------------------------------------------- the panel

  panel.classList.add("vl");
  var heading = el("h2", "Visit list", {id: "vl-title"});
  var toggle = button("Hide", function () {
    var open = body.hidden;
    body.hidden = !open;
    toggle.textContent = open ? "Hide" : "Show";
    toggle.setAttribute("aria-expanded", String(open));
  }, {"aria-expanded": "true", "aria-controls": "vl-body", "class": "vl-toggle"});
  var top = el("div", null, {"class": "vl-top"});
  top.append(heading, toggle);
  var body = el("div", null, {id: "vl-body"});
  var dayInput = el("input", null, {id: "vl-day", type: "date", required: "required"});
  dayInput.value = (draft && draft.day) || today();
  var msg = el("p", null, {id: "vl-msg", role: "status", "aria-live": "polite"});
  var stopsList = el("ol", null, {id: "vl-stops", "aria-label": "Targets of the day"});
  var routeBox = el("section", null, {id: "vl-route", "aria-labelledby": "vl-route-title"});
  var exportsBox = el("p", null, {id: "vl-exports"});

  // the start and end of the day (visit-places.js): its fieldset, filled from the saved day
  var places = window.PRM_VISIT_PLACES({
    app: app, el: el, field: field, button: button, say: say, failed: failed, dayUrl: dayUrl,
    draftFor: draftFor, keep: keep, show: show, day: function () { return dayInput.value; }
  });

  var actions = el("div", null, {"class": "vl-actions"});
  actions.append(button("Plan route", planRoute, {id: "vl-plan"}), button("Clear route", clearRoute, {id: "vl-clear"}));
  routeBox.appendChild(el("h3", "Route", {id: "vl-route-title"}));
  routeBox.appendChild(el("p", "Plan the route to see the visits in order.", {"class": "vl-hint"}));

  body.append(field("Day", dayInput), msg, el("h3", "Targets", {id: "vl-stops-title"}), stopsList,
              places.fieldset, actions, routeBox, exportsBox);
  panel.append(top, body);

  // ---------------------------------------------------------------- targets

  function onList(pid) {
    return (saved && saved.stops.some(function (s) { return s.provider_id === pid; })) ||
      Boolean(draft && draft.day === dayInput.value && draft.adds[pid]);
  }

  function addTarget(pid, name) {
    if (onList(pid)) {
      say(name + " is already on the list of " + dayInput.value + ".");
      return Promise.resolve();
    }
    var d = draftFor(dayInput.value);
    d.adds[pid] = name;
    keep();
    return app.api(dayUrl("/stops/" + pid), {method: "PUT", headers: {"Content-Type": "application/json"},
                                              body: JSON.stringify({duration_min: 30})})
      .then(function (day) {
        delete draftFor(day.day).adds[pid];
        keep();
        show(day);
        say(name + " added to " + day.day + ".", "ok");
      }, failed("Adding " + name)).catch(function () { renderStops(); });
  }

  function stopBody(pid) {
    var li = stopsList.querySelector('[data-id="' + pid + '"]');
    var body = {duration_min: Number(li.querySelector(".vl-duration").value) || 30};
    var ws = li.querySelector(".vl-ws").value, we = li.querySelector(".vl-we").value;
    if (ws) body.window_start = ws;
    if (we) body.window_end = we;
    return body;
  }

  function saveStop(pid, name) {
    return app.api(dayUrl("/stops/" + pid), {method: "PUT", headers: {"Content-Type": "application/json"},
                                              body: JSON.stringify(stopBody(pid))})
      .then(function (day) {
        var d = draftFor(day.day);
        delete d.stops[pid];
        delete d.adds[pid];
        keep();
        show(day);
        say("Visit to " + name + " saved.", "ok");
      }, failed("Saving the visit to " + name)).catch(function () {});
  }

  function removeStop(pid, name) {
    var d = draftFor(dayInput.value);
    if (d.adds[pid] && !(saved && saved.stops.some(function (s) { return s.provider_id === pid; }))) {
      delete d.adds[pid];
      keep();
      renderStops();
      return Promise.resolve();
    }
    return app.api(dayUrl("/stops/" + pid), {method: "DELETE"}).then(function () {
      delete d.stops[pid];
      keep();
      say(name + " taken off the list.", "ok");
      return reload();
    }, failed("Removing " + name)).catch(function () {});
  }

  function stopRow(stop, unsaved) {
    var pid = stop.provider_id, name = stop.display_name || "provider " + pid;
    var edit = (draft && draft.day === dayInput.value && draft.stops[pid]) || {};
    var li = el("li", null, {"data-id": pid});
    var title = el("span", name, {"class": "vl-name"});
    li.appendChild(title);
    var id = "vl-s" + pid;
    var duration = el("input", null, {id: id + "-dur", "class": "vl-duration", type: "number", min: "1", max: "600", step: "1"});
    duration.value = edit.duration || stop.duration_min || 30;
    var ws = el("input", null, {id: id + "-ws", "class": "vl-ws", type: "time"});
    ws.value = edit.ws !== undefined ? edit.ws : String(stop.window_start || "").slice(0, 5);
    var we = el("input", null, {id: id + "-we", "class": "vl-we", type: "time"});
    we.value = edit.we !== undefined ? edit.we : String(stop.window_end || "").slice(0, 5);
    var grid = el("div", null, {"class": "vl-stop-fields"});
    grid.append(field("Visit (min)", duration), field("Not before", ws), field("Not after", we));
    li.appendChild(grid);
    var changed = unsaved || Boolean(draft && draft.day === dayInput.value && draft.stops[pid]);
    var save = button(changed ? "Save (not saved yet)" : "Save", function () { saveStop(pid, name); },
                      {"class": changed ? "vl-unsaved" : ""});
    li.addEventListener("input", function () {
      draftFor(dayInput.value).stops[pid] = {duration: duration.value, ws: ws.value, we: we.value};
      keep();
      save.textContent = "Save (not saved yet)";
      save.className = "vl-unsaved";
      save.setAttribute("aria-label", save.textContent + ": visit to " + name);
    });
    var tools = el("div", null, {"class": "vl-stop-actions"});
    tools.append(save,
                 button("Log visit", function () { window.PRM_VISIT_LOG.open(pid, name); }, {"aria-label": "Log visit: " + name}),
                 button("Remove", function () { removeStop(pid, name); }, {"aria-label": "Remove: " + name}));
    save.setAttribute("aria-label", save.textContent + ": visit to " + name);
    li.appendChild(tools);
    return li;
  }

  function renderStops() {
    stopsList.textContent = "";
    var stops = saved ? saved.stops.slice() : [];
    var d = draft && draft.day === dayInput.value ? draft : null;
    Object.keys((d && d.adds) || {}).forEach(function (pid) {
      pid = Number(pid);
      if (!stops.some(function (s) { return s.provider_id === pid; })) {
        stops.push({provider_id: pid, display_name: d.adds[pid], duration_min: 30, unsaved: true});
      }
    });
    stops.forEach(function (s) { stopsList.appendChild(stopRow(s, s.unsaved)); });
    if (!stops.length) {
      stopsList.appendChild(el("li", "No targets yet: add them from the list (\"Add to day\") or from a " +
                               "marker's detail panel.", {"class": "vl-hint"}));
    }
    heading.textContent = "Visit list (" + stops.length + ")";
    decorateRows();
  }

  // ---------------------------------------------------------------- the day

  function exportsFor(day) {
    exportsBox.textContent = "";
    if (!saved || !saved.start) return;
    exportsBox.append("Export " + day + ": ",
      el("a", "CSV", {href: dayUrl("/export.csv"), download: "visits-" + day + ".csv", id: "vl-csv"}), " · ",
      el("a", "Calendar (ICS)", {href: dayUrl("/export.ics"), download: "visits-" + day + ".ics", id: "vl-ics"}), " · ",
      el("a", "Printable day sheet", {href: dayUrl("/sheet.html"), target: "_blank", rel: "noopener", id: "vl-sheet"}));
  }

  function show(day) {
    saved = day;
    var d = draft && draft.day === dayInput.value ? draft : null;
    places.show(day, d && d.places);
    renderStops();
    exportsFor(dayInput.value);
  }

  function reload() {
    clearRoute();
    return app.api(dayUrl()).then(function (day) {
      show(day);
      say("Visit list of " + day.day + ": " + day.stops.length + " targets" +
          (day.start ? "." : "; set the start to plan the route."));
    }, function (err) {
      if (err.status === 404) {
        show(null);
        say("No visit list for " + dayInput.value + " yet: add targets and set the start.");
        return;
      }
      return failed("Loading the visit list")(err);
    }).then(function () {
      var d = draft && draft.day === dayInput.value ? draft : null;
      if (d && (d.places || Object.keys(d.stops).length || Object.keys(d.adds).length)) {
        say("Unsaved changes from before are restored below: save them to keep them.", "pick");
      }
    }).catch(function () {});
  }

  dayInput.addEventListener("change", function () {
    if (!dayInput.value) return;
    if (draft && draft.day !== dayInput.value) draftFor(dayInput.value);
    reload();
  });

  // ---------------------------------------------------------------- the route

  function clearRoute() {
    routeLayer.clearLayers();
    routeBox.textContent = "";
    routeBox.appendChild(el("h3", "Route", {id: "vl-route-title"}));
    routeBox.appendChild(el("p", "Plan the route to see the visits in order.", {"class": "vl-hint"}));
  }

  function renderRoute(route) {
    routeBox.textContent = "";
    routeBox.appendChild(el("h3", "Route: leave " + hhmm(route.departure) + ", back " + hhmm(route.end_arrival) +
                            " (" + Math.round(route.drive_min) + " min driving, " + route.time_zone + ")",
                            {id: "vl-route-title"}));
    var ol = el("ol", null, {id: "vl-order"});
    ol.appendChild(el("li", "Start: " + route.start.label + " at " + hhmm(route.departure), {"class": "vl-endpoint"}));
    route.stops.forEach(function (s) {
      var li = el("li", null, {"data-id": s.provider_id});
      li.append(el("strong", s.seq + ". " + (s.display_name || "provider " + s.provider_id)),
                el("span", " arrive " + hhmm(s.arrival) + (s.wait_min > 0 ? ", wait " + Math.round(s.wait_min) + " min" : "") +
                   ", visit " + hhmm(s.visit_start) + "-" + hhmm(s.departure) +
                   (s.estimated ? " (drive estimated)" : "")));
      if (s.address) li.append(el("span", s.address, {"class": "vl-address"}));
      ol.appendChild(li);
    });
    ol.appendChild(el("li", "End: " + route.end.label + " at " + hhmm(route.end_arrival), {"class": "vl-endpoint"}));
    routeBox.appendChild(ol);
    if (route.unassigned.length) {
      routeBox.appendChild(el("h3", "Not on the route (" + route.unassigned.length + ")", {id: "vl-unassigned-title"}));
      var ul = el("ul", null, {id: "vl-unassigned", "aria-labelledby": "vl-unassigned-title"});
      route.unassigned.forEach(function (u) {
        ul.appendChild(el("li", (u.display_name || "provider " + u.provider_id) + ": " + u.reason, {"data-id": u.provider_id}));
      });
      routeBox.appendChild(ul);
    }
    if (route.estimated) routeBox.appendChild(el("p", "Some drive times are straight-line estimates.", {"class": "vl-hint"}));
  }

  function drawRoute(collection) {
    routeLayer.clearLayers();
    var layer = L.geoJSON(collection, {
      style: function () { return {color: "#1d4ed8", weight: 4, opacity: 0.85, className: "vl-route-line"}; },
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        var text = p.role === "stop" ? String(p.seq) : p.role === "start" ? "S" : "E";
        return L.marker(latlng, {
          icon: L.divIcon({className: "", html: '<div class="vl-route-pin vl-' + p.role + '">' + text + "</div>",
                           iconSize: [22, 22], iconAnchor: [11, 11]}),
          title: p.role === "stop" ? p.seq + ". " + p.display_name : p.role + ": " + p.label,
          keyboard: false, interactive: false, zIndexOffset: 1000  // above the prospects' pins
        });
      }
    });
    layer.addTo(routeLayer);
    app.map.fitBounds(layer.getBounds().pad(0.15));
  }

  function planRoute() {
    say("Planning the route...");
    return app.api(dayUrl("/route")).then(function (route) {
      renderRoute(route);
      say("Route planned: " + route.stops.length + " visits" +
          (route.unassigned.length ? ", " + route.unassigned.length + " that cannot be made (listed with the reason)" : "") + ".",
          route.unassigned.length ? "error" : "ok");
      return app.api(dayUrl("/route.geojson"), {headers: {Accept: "application/geo+json"}}).then(drawRoute);
    }, failed("Planning the route")).catch(function () {});
  }

  // ---------------------------------------------------------------- the ranked list and the detail panel

  // the list's entries get "Add to day": all of them for a new answer, the new ones as it grows
  function decorateRows(items) {
    if (panel.hidden) return;  // no visit list for this role (viewers): nothing to add to
    (items || document.querySelectorAll("#list li")).forEach(function (li) {
      var main = li.querySelector("button[data-id]");
      if (!main) return;
      var pid = Number(main.dataset.id);
      var name = main.querySelector(".name") ? main.querySelector(".name").textContent : "provider " + pid;
      var add = li.querySelector(".vl-add");
      if (!add) {
        li.classList.add("vl-row");
        add = button("Add to day", function () { addTarget(pid, name); }, {"class": "vl-add"});
        li.appendChild(add);
      }
      var on = onList(pid);
      add.textContent = on ? "On the day" : "Add to day";
      add.disabled = on;
      add.setAttribute("aria-label", add.textContent + ": " + name);  // starts with the visible text
    });
  }

  document.addEventListener("prm:rows", function () { decorateRows(); });
  document.addEventListener("prm:list-grown", function (e) { decorateRows(e.detail.items); });

  app.addDetailAction(function (row, container) {
    if (panel.hidden) return;  // no visit list for this role
    var on = onList(row.provider_id);
    var add = button(on ? "On the visit list" : "Add to visit list", function () {
      addTarget(row.provider_id, row.display_name).then(function () {
        if (onList(row.provider_id)) { add.textContent = "On the visit list"; add.disabled = true; }
      });
    }, {id: "vl-detail-add"});
    add.disabled = on;
    container.appendChild(add);
  });

  // ---------------------------------------------------------------- start

  app.api("/v1/session").then(function (session) {
    if (ROLES.indexOf(session.role) < ROLES.indexOf("liaison")) return;  // viewers keep no visit list
    panel.hidden = false;
    return app.api("/v1/sites").then(function (sites) {
      places.setSites(sites);
      return reload();
    });
  }).catch(function () {});

  window.PRM_VISITS = {
    reload: reload, add: addTarget, plan: planRoute,
    // for visit-log.js: the same elements, problem lines and messages as the panel
    el: el, field: field, button: button, problemLines: problemLines, say: say
  };
})();
