// The liaison's visit day in the app (/app): the visit list, start and end, the route, exports,
// and "Log visit" (the visit outcome). Loaded after app.js; uses only its hooks (window.PRM_APP,
// the "prm:rows" and "prm:selected" events, the <section id="visit-list"> slot).
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
  var sites = [];
  var saved = null;         // the day as the API last gave it (null: no list for the day yet)
  var draft = loadDraft();  // {day, places: {...}, stops: {pid: {...}}, adds: {pid: name}}
  var routeLayer = L.layerGroup().addTo(app.map);
  var picking = null;       // "start" or "end" while picking a point on the map
  var logDialog = null;

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
  var places = el("fieldset", null, {id: "vl-places"});
  places.appendChild(el("legend", "Start and end of the day"));
  var routeBox = el("section", null, {id: "vl-route", "aria-labelledby": "vl-route-title"});
  var exportsBox = el("p", null, {id: "vl-exports"});

  function placeInputs(which) {
    var box = el("div", null, {"class": "vl-place", id: "vl-" + which});
    var kind = el("select", null, {id: "vl-" + which + "-kind"});
    var kinds = [["site", "a clinic site"], ["address", "an address"], ["point", "a point on the map"]];
    if (which === "end") kinds.unshift(["same", "where it starts"]);
    kinds.forEach(function (k) { kind.appendChild(el("option", k[1], {value: k[0]})); });
    box.appendChild(field(which === "start" ? "Start from" : "End at", kind));
    var site = el("select", null, {id: "vl-" + which + "-site"});
    var address = el("input", null, {id: "vl-" + which + "-address", maxlength: "200", autocomplete: "street-address"});
    var postal = el("input", null, {id: "vl-" + which + "-postal", maxlength: "5", inputmode: "numeric",
                                    pattern: "[0-9]{5}", autocomplete: "postal-code"});
    var lat = el("input", null, {id: "vl-" + which + "-lat", type: "number", step: "any", min: "-90", max: "90"});
    var lon = el("input", null, {id: "vl-" + which + "-lon", type: "number", step: "any", min: "-180", max: "180"});
    var parts = {
      site: [field("Site", site)],
      address: [field("Street address", address), field("Postal code", postal)],
      point: [field("Latitude", lat), field("Longitude", lon),
              button("Pick on map", function () { startPicking(which); }, {id: "vl-" + which + "-pick"})]
    };
    Object.keys(parts).forEach(function (k) {
      var group = el("div", null, {"class": "vl-kind", "data-kind": k});
      parts[k].forEach(function (p) { group.appendChild(p); });
      box.appendChild(group);
    });
    function shown() {
      box.querySelectorAll(".vl-kind").forEach(function (g) { g.hidden = g.dataset.kind !== kind.value; });
    }
    kind.addEventListener("change", shown);
    shown();
    return {box: box, kind: kind, site: site, address: address, postal: postal, lat: lat, lon: lon, shown: shown};
  }

  var start = placeInputs("start");
  var end = placeInputs("end");
  var dayStart = el("input", null, {id: "vl-day-start", type: "time", value: "08:00"});
  var dayEnd = el("input", null, {id: "vl-day-end", type: "time"});
  var times = el("div", null, {"class": "vl-times"});
  times.append(field("Leave at", dayStart), field("Be back by (optional)", dayEnd));
  places.append(start.box, end.box, times, button("Save start and end", savePlaces, {id: "vl-save-places"}));

  var actions = el("div", null, {"class": "vl-actions"});
  actions.append(button("Plan route", planRoute, {id: "vl-plan"}), button("Clear route", clearRoute, {id: "vl-clear"}));
  routeBox.appendChild(el("h3", "Route", {id: "vl-route-title"}));
  routeBox.appendChild(el("p", "Plan the route to see the visits in order.", {"class": "vl-hint"}));

  body.append(field("Day", dayInput), msg, el("h3", "Targets", {id: "vl-stops-title"}), stopsList,
              places, actions, routeBox, exportsBox);
  panel.append(top, body);

  // ---------------------------------------------------------------- start and end

  function placeBody(p) {
    switch (p.kind.value) {
      case "same": return null;
      case "site": return {kind: "site", site_code: p.site.value};
      case "address": return {kind: "address", address: p.address.value, postal_code: p.postal.value.trim()};
      default: return {kind: "point", lat: Number(p.lat.value), lon: Number(p.lon.value)};
    }
  }

  function formState() {
    var state = {};
    [["start", start], ["end", end]].forEach(function (pair) {
      var p = pair[1];
      state[pair[0]] = {kind: p.kind.value, site: p.site.value, address: p.address.value,
                        postal: p.postal.value, lat: p.lat.value, lon: p.lon.value};
    });
    state.dayStart = dayStart.value;
    state.dayEnd = dayEnd.value;
    return state;
  }

  function setForm(state) {
    [["start", start], ["end", end]].forEach(function (pair) {
      var p = pair[1], s = state[pair[0]];
      if (!s) return;
      ["kind", "site", "address", "postal", "lat", "lon"].forEach(function (k) { p[k].value = s[k] || ""; });
      if (!p.kind.value) p.kind.value = pair[0] === "end" ? "same" : "site";
      p.shown();
    });
    dayStart.value = state.dayStart || "08:00";
    dayEnd.value = state.dayEnd || "";
  }

  function stateOf(day) {  // the form as the saved day has it
    function one(place, which) {
      var s = {kind: which === "end" ? "same" : "site", site: sites.length ? sites[0].site_code : ""};
      if (!place) return s;
      s.kind = place.kind;
      if (place.kind === "site") s.site = place.label;
      if (place.kind === "address") {
        var cut = place.label.lastIndexOf(", ");
        s.address = place.label.slice(0, cut);
        s.postal = place.label.slice(cut + 2);
      }
      if (place.kind === "point") { s.lat = place.lat; s.lon = place.lon; }
      return s;
    }
    var same = day && day.start && day.end && day.start.label === day.end.label &&
      day.start.lat === day.end.lat && day.start.lon === day.end.lon;
    return {start: one(day && day.start, "start"), end: same ? {kind: "same"} : one(day && day.end, "end"),
            dayStart: day ? String(day.day_start).slice(0, 5) : "08:00",
            dayEnd: day && day.day_end ? String(day.day_end).slice(0, 5) : ""};
  }

  places.addEventListener("input", function () {
    draftFor(dayInput.value).places = formState();
    keep();
  });
  places.addEventListener("change", function () {
    draftFor(dayInput.value).places = formState();
    keep();
  });

  function savePlaces() {
    var update = {start: placeBody(start), day_start: dayStart.value || "08:00"};
    var e = placeBody(end);
    if (e) update.end = e;
    if (dayEnd.value) update.day_end = dayEnd.value;
    say("Saving the start and end...");
    return app.api(dayUrl(), {method: "PUT", headers: {"Content-Type": "application/json"},
                              body: JSON.stringify(update)})
      .then(function (day) {
        draftFor(day.day).places = null;
        keep();
        show(day);
        say("Start and end saved (times in " + day.time_zone + ").", "ok");
      }, failed("Saving the start and end")).catch(function () {});
  }

  // ---------------------------------------------------------------- pick a point on the map

  function startPicking(which) {
    picking = which;
    app.map.getContainer().classList.add("vl-picking");
    say("Click the map where the day " + (which === "start" ? "starts" : "ends") +
        ", or press Enter on the map for its centre. Escape cancels.", "pick");
    app.map.getContainer().focus();
  }

  function stopPicking(latlng) {
    var which = picking;
    picking = null;
    app.map.getContainer().classList.remove("vl-picking");
    if (!which) return;
    var p = which === "start" ? start : end;
    if (latlng) {
      p.kind.value = "point";
      p.lat.value = latlng.lat.toFixed(5);
      p.lon.value = latlng.lng.toFixed(5);
      p.shown();
      draftFor(dayInput.value).places = formState();
      keep();
      say("Point picked for the " + which + ": save the start and end to keep it.");
    } else {
      say("Picking cancelled.");
    }
    document.getElementById("vl-" + which + "-pick").focus();
  }

  app.map.on("click", function (e) { if (picking) stopPicking(e.latlng); });
  document.addEventListener("keydown", function (e) {
    if (!picking) return;
    if (e.key === "Escape") {
      e.preventDefault();
      stopPicking(null);
    } else if (e.key === "Enter" && app.map.getContainer().contains(document.activeElement)) {
      e.preventDefault();
      stopPicking(app.map.getCenter());
    }
  });

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
                 button("Log visit", function () { openLog(pid, name); }, {"aria-label": "Log visit: " + name}),
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
    setForm(d && d.places ? d.places : stateOf(day));
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

  function decorateRows() {
    document.querySelectorAll("#list li").forEach(function (li) {
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

  document.addEventListener("prm:rows", decorateRows);

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
    container.appendChild(button("Log visit", function () { openLog(row.provider_id, row.display_name); },
                                 {id: "vl-detail-log"}));
  });

  // ---------------------------------------------------------------- log a visit

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

  // ---------------------------------------------------------------- start

  app.api("/v1/session").then(function (session) {
    if (ROLES.indexOf(session.role) < ROLES.indexOf("liaison")) return;  // viewers keep no visit list
    panel.hidden = false;
    return app.api("/v1/sites").then(function (answer) {
      sites = answer;
      [start.site, end.site].forEach(function (select) {
        sites.forEach(function (s) { select.appendChild(el("option", s.site_code + " - " + s.name, {value: s.site_code})); });
      });
      return reload();
    });
  }).catch(function () {});

  window.PRM_VISITS = {reload: reload, add: addTarget, plan: planRoute};
})();
