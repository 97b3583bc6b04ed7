// Planners in the app (/app): isochrones (per site), liaison territories and expansion
// candidates as layers of a Leaflet layer control, for marketing and above.
//
// Each layer reads the API when first switched on: GET /v1/sites/{code}/isochrones,
// /v1/territory-plans/{name}/geojson?version=, /v1/expansion/scenarios/{name}. A candidate
// the planner left unpicked because it adds nothing or lies off the road network (its
// "flag") gets a distinct grey, dashed, "!" marker and says why in its title, popup and the
// legend: it is never drawn as a pick.
(function () {
  "use strict";
  var app = window.PRM_APP;
  var map = app.map;
  var RANKS = ["viewer", "liaison", "marketing", "integration", "admin"];
  var PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];
  var FLAG_WORDS = {
    "adds nothing": "adds nothing: no white space beyond the chosen sites",
    "off the road network": "off the road network: farther than the router's snap distance from any road"
  };
  var legend = null;
  var legendMsg = null;
  var candidateLayersOn = 0;

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function fail(what) {
    return function (err) {
      if (err.status === 401) return;
      var p = err.problem || {};
      legendMsg.textContent = "Could not load " + what + ": " + (p.title || "error") + (p.detail ? " (" + p.detail + ")" : "");
      legend.getContainer().hidden = false;
    };
  }

  // a layer that reads its data the first time it is switched on
  function lazy(layer, load) {
    var loaded = false;
    layer.on("add", function () {
      if (loaded) return;
      loaded = true;
      load(layer);
    });
    return layer;
  }

  function lines(pairs) {
    var box = el("div", null, {"class": "prm-popup"});
    pairs.forEach(function (p) { box.appendChild(el("div", p)); });
    return box;
  }

  function isochroneLayer(site, colour) {
    var layer = L.geoJSON(null, {
      style: {color: colour, weight: 2, fillOpacity: 0.08, dashArray: null},
      onEachFeature: function (f, l) { l.bindPopup(lines([f.properties.label, f.properties.cell_count + " cells reached"])); }
    });
    return lazy(layer, function () {
      app.api("/v1/sites/" + encodeURIComponent(site.site_code) + "/isochrones")
        .then(function (fc) { layer.addData(fc); }, fail("isochrones of " + site.site_code));
    });
  }

  function territoryLayer(plan) {
    var layer = L.geoJSON(null, {
      style: function (f) {
        var c = PALETTE[(f.properties.number - 1) % PALETTE.length];
        return {color: c, weight: 2, fillColor: c, fillOpacity: 0.25};
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindPopup(lines(["Territory " + p.number + " of " + p.plan + " v" + p.version, "Liaison: " + p.liaison,
          p.measure + ": " + Number(p.load).toFixed(1) + " (" + Math.round(p.share * 100) + "%)", p.cells + " cells"]));
      }
    });
    return lazy(layer, function () {
      app.api("/v1/territory-plans/" + encodeURIComponent(plan.name) + "/geojson?version=" + plan.version)
        .then(function (fc) { layer.addData(fc); }, fail("territories of " + plan.name));
    });
  }

  function candidateMarker(c, scenario) {
    var kind = c.flag ? "flagged" : c.chosen ? "chosen" : "other";
    var words = c.flag ? "not picked, " + FLAG_WORDS[c.flag] : c.chosen ? "pick " + c.pick_order : "not in the best " + scenario.pick;
    var marker = L.marker([c.lat, c.lon], {
      icon: L.divIcon({className: "", html: '<div class="prm-cand ' + kind + '">' + (c.flag ? "!" : c.chosen ? c.pick_order : "") + "</div>",
                       iconSize: [22, 22], iconAnchor: [11, 11]}),
      title: "Candidate " + c.label + ": " + words,
      keyboard: true,
      zIndexOffset: c.chosen ? 1000 : 0  // a pick stays on top of a flagged twin at its place
    });
    marker.prmCandidate = c;
    var info = [
      "Candidate " + c.label + " (" + scenario.name + ", " + scenario.minutes + " min)",
      c.flag ? "Flagged: " + FLAG_WORDS[c.flag] : c.chosen ? "Chosen: pick " + c.pick_order + " of " + scenario.pick : "Not in the best " + scenario.pick,
      "Adds " + Number(c.white_space_providers).toFixed(0) + " providers of white space; takes " +
        Number(c.cannibalised_providers).toFixed(0) + " from existing sites"
    ];
    if (c.estimated) info.push("Drive times estimated (straight line)");
    marker.bindPopup(lines(info));
    return marker;
  }

  function candidateLayer(summary) {
    var layer = L.layerGroup();
    layer.on("add", function () { candidateLayersOn++; legend.getContainer().hidden = false; });
    layer.on("remove", function () { candidateLayersOn--; legend.getContainer().hidden = candidateLayersOn <= 0 && !legendMsg.textContent; });
    return lazy(layer, function () {
      app.api("/v1/expansion/scenarios/" + encodeURIComponent(summary.name)).then(function (scenario) {
        scenario.candidates.forEach(function (c) {
          if (c.lat !== null && c.lon !== null) layer.addLayer(candidateMarker(c, scenario));
        });
      }, fail("candidates of " + summary.name));
    });
  }

  function buildLegend() {
    legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var box = el("div", null, {"class": "prm-legend", id: "planning-legend"});
      box.appendChild(el("h2", "Expansion candidates"));
      [["chosen", "1", "chosen (pick order)"], ["other", "", "not in the best N"],
       ["flagged", "!", "flagged, never picked: adds nothing, or off the road network"]].forEach(function (row) {
        var line = el("div", null, {"class": "row"});
        line.append(el("span", row[1], {"class": "prm-cand " + row[0], "aria-hidden": "true"}), el("span", row[2]));
        box.appendChild(line);
      });
      legendMsg = el("p", null, {role: "status", "class": "msg"});
      box.appendChild(legendMsg);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    legend.addTo(map);
    legend.getContainer().hidden = true;
  }

  function build() {
    buildLegend();
    var control = L.control.layers(null, null, {collapsed: false, position: "topright"}).addTo(map);
    control.getContainer().setAttribute("aria-label", "Planning layers");
    control.getContainer().id = "planning-layers";
    Promise.all([app.api("/v1/sites"), app.api("/v1/territory-plans"), app.api("/v1/expansion/scenarios")])
      .then(function (answers) {
        answers[0].forEach(function (site, i) {
          control.addOverlay(isochroneLayer(site, PALETTE[i % PALETTE.length]), "Isochrones: " + site.site_code);
        });
        var newest = {};
        answers[1].forEach(function (p) { if (!newest[p.name] || newest[p.name].version < p.version) newest[p.name] = p; });
        Object.keys(newest).sort().forEach(function (n) {
          control.addOverlay(territoryLayer(newest[n]), "Territories: " + n + " v" + newest[n].version);
        });
        answers[2].forEach(function (s) {
          control.addOverlay(candidateLayer(s), "Candidates: " + s.name + " (" + s.minutes + " min)");
        });
      }, fail("the planning layers"));
  }

  app.api("/v1/session").then(function (session) {
    var allowed = RANKS.indexOf(session.role) >= RANKS.indexOf("marketing");
    if (allowed) build();
    document.body.dataset.planning = allowed ? "shown" : "hidden";  // for tests: decided
  }, function () { /* app.js shows the session's state */ });
})();
