// The start and end of a liaison's visit day in the app (/app): where the day starts and ends
// (a clinic site, an address or a point picked on the map), when it starts, and by when it
// should be back; saved with PUT /v1/visit-lists/{day}. Loaded before visits.js, which makes
// it with its own helpers and draft store:
//   var places = PRM_VISIT_PLACES({app, el, field, button, say, failed, dayUrl, draftFor, keep,
//                                  show, day});
//   places.fieldset            the form, for the visit list panel
//   places.show(day, draft)    the saved day's places (or the unsaved draft's) into the form
//   places.setSites(sites)     the clinic sites to start or end at (GET /v1/sites)
(function () {
  "use strict";
  window.PRM_VISIT_PLACES = function (ui) {
    var app = ui.app, el = ui.el, field = ui.field, button = ui.button, say = ui.say;
    var draftFor = ui.draftFor, keep = ui.keep;
    var sites = [];
    var picking = null;  // "start" or "end" while picking a point on the map
    var places = el("fieldset", null, {id: "vl-places"});
    places.appendChild(el("legend", "Start and end of the day"));

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

    function keepDraft() {  // every edit kept in the tab until saved
      draftFor(ui.day()).places = formState();
      keep();
    }
    places.addEventListener("input", keepDraft);
    places.addEventListener("change", keepDraft);

    function savePlaces() {
      var update = {start: placeBody(start), day_start: dayStart.value || "08:00"};
      var e = placeBody(end);
      if (e) update.end = e;
      if (dayEnd.value) update.day_end = dayEnd.value;
      say("Saving the start and end...");
      return app.api(ui.dayUrl(), {method: "PUT", headers: {"Content-Type": "application/json"},
                                body: JSON.stringify(update)})
        .then(function (day) {
          draftFor(day.day).places = null;
          keep();
          ui.show(day);
          say("Start and end saved (times in " + day.time_zone + ").", "ok");
        }, ui.failed("Saving the start and end")).catch(function () {});
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
        keepDraft();
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

    return {
      fieldset: places,
      show: function (day, draft) { setForm(draft || stateOf(day)); },
      setSites: function (list) {
        sites = list;
        [start.site, end.site].forEach(function (select) {
          sites.forEach(function (s) { select.appendChild(el("option", s.site_code + " - " + s.name, {value: s.site_code})); });
        });
      }
    };
  };
})();
