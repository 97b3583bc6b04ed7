// The liaison's app (/app): filters, a clustered map and a ranked list in step, a detail panel.
//
// Data comes from the API only: GET /v1/prospects/viewport (the prospect list's filters and
// statement, one row per provider, best score first, capped by the server) feeds both the
// markers and the list, so they always agree. Writes send the session's CSRF token.
//
// Hooks for the visit list and the visit outcome (other scripts, loaded after this one):
//   window.PRM_APP.api(path, options)    fetch JSON with the session (CSRF on writes); rejects
//                                         with {status, problem} and shows an expired session
//   window.PRM_APP.refresh()             reload the map and list (after a status change)
//   window.PRM_APP.addDetailAction(fn)   fn(row, container) adds buttons to the detail panel
//   window.PRM_APP.selected()            the row shown in the detail panel, or null
//   window.PRM_APP.map                   the Leaflet map (draw a route on it)
//   document events "prm:selected" (detail = row), "prm:rows" (detail = every row in view; the
//   list has entries for the first ones only) and "prm:list-grown" (detail = {rows, items}:
//   entries the list added later, on scroll or "Show more")
//   <section id="visit-list"> is an empty, hidden slot beside the list for the visit list.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var form = $("filter-form");
  var list = $("list");
  var notice = $("notice");
  var detail = $("detail");
  var mapmsg = $("mapmsg");
  var csrf = null;
  var fields = [];
  var rows = [];
  var markers = {};
  var selectedRow = null;
  var detailActions = [];
  var sequence = 0;
  var expired = false;
  var markersAdded = null;  // called once the cluster layer holds the answer's markers
  var shown = 0;            // answers rendered (the first is the first view)

  // ---------------------------------------------------------------- messages

  function say(text, kind) {
    notice.textContent = text;
    notice.className = kind || "";
  }

  function mapSay(text) {
    mapmsg.textContent = text || "";
    mapmsg.hidden = !text;
  }

  function showExpired() {
    expired = true;
    notice.className = "expired";
    notice.textContent = "Your session has expired or ended. ";
    var a = document.createElement("a");
    a.href = "/signin?next=" + encodeURIComponent(location.pathname + location.search);
    a.textContent = "Sign in again";
    notice.appendChild(a);
    notice.appendChild(document.createTextNode(" (the map and list below are as they were)."));
    mapSay("Session expired: sign in again to update the map.");
  }

  // ---------------------------------------------------------------- API

  function api(path, options) {
    options = options || {};
    var headers = Object.assign({Accept: "application/json"}, options.headers || {});
    var method = (options.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD" && csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(path, Object.assign({}, options, {headers: headers, credentials: "same-origin"}))
      .then(function (response) {
        if (response.status === 401) {
          showExpired();
          return Promise.reject({status: 401, problem: {title: "Session expired"}});
        }
        if (!response.ok) {
          return response.json().catch(function () { return {title: "HTTP " + response.status}; })
            .then(function (problem) { return Promise.reject({status: response.status, problem: problem}); });
        }
        return response.status === 204 ? null : response.json();
      }, function () {
        return Promise.reject({status: 0, problem: {title: "The server did not answer"}});
      });
  }

  function problemText(err) {
    var p = (err && err.problem) || {};
    var text = p.title || "Request failed";
    if (p.detail) text += ": " + p.detail;
    return text;
  }

  // ---------------------------------------------------------------- map

  var map = L.map("map", {zoomControl: true, keyboard: true, maxZoom: 19, minZoom: 3});
  var tileUrl = document.body.dataset.tileUrl;
  var attribution = document.body.dataset.tileAttribution;
  if (tileUrl) {
    L.tileLayer(tileUrl, {attribution: attribution}).addTo(map);
  } else {
    // offline base map: the OSM extract's roads of the view, served by the API
    // (GET /v1/map/roads). Its own pane under the markers, and it takes no pointer event:
    // a layer covering the map must never swallow a click on a marker.
    var roadPane = map.createPane("prm-roads");
    roadPane.style.zIndex = 250;
    roadPane.style.pointerEvents = "none";
    var roads = L.geoJSON(null, {
      pane: "prm-roads",
      interactive: false,
      // SVG, not canvas: a canvas renderer chains its layers in a linked list as long as the
      // network, which no page script or test can walk (serialise) any more
      renderer: L.svg({pane: "prm-roads", padding: 0.2}),
      style: function (f) {
        return {color: f.properties.color, weight: f.properties.weight, opacity: 0.9};
      }
    }).addTo(map);
    if (attribution) map.attributionControl.addAttribution(attribution);
    var roadsAsked = 0;
    var loadRoads = function () {
      var b = map.getBounds().pad(0.2);
      var asked = ++roadsAsked;
      var q = new URLSearchParams({
        west: Math.max(-180, b.getWest()).toFixed(5), south: Math.max(-90, b.getSouth()).toFixed(5),
        east: Math.min(180, b.getEast()).toFixed(5), north: Math.min(90, b.getNorth()).toFixed(5),
        zoom: String(Math.round(map.getZoom()))
      });
      api("/v1/map/roads?" + q.toString()).then(function (fc) {
        if (asked !== roadsAsked) return;  // a later view's answer wins
        roads.clearLayers();
        roads.addData(fc);
        document.body.dataset.roads = String(fc.features.length);
      }, function () { /* the base map is decoration: the markers and list still work */ });
    };
    map.on("moveend", loadRoads);
    map.whenReady(loadRoads);
  }
  var cluster = L.markerClusterGroup({
    showCoverageOnHover: false,
    spiderfyOnMaxZoom: true,   // co-located providers spread apart on click
    chunkedLoading: true,
    maxClusterRadius: 45,
    chunkProgress: function (done, total) {  // the last chunk of markers is in: time the view
      if (done === total && markersAdded) {
        var then = markersAdded;
        markersAdded = null;
        then();
      }
    }
  });
  map.addLayer(cluster);
  var siteLayer = L.layerGroup().addTo(map);
  map.setView([39.96, -83.0], 12);

  function colour(score) {
    if (score >= 80) return "#a50026";
    if (score >= 60) return "#d73027";
    if (score >= 40) return "#f46d43";
    if (score >= 20) return "#fdae61";
    return "#fee08b";
  }

  function asObject(r) {
    var o = {};
    for (var i = 0; i < fields.length; i++) o[fields[i]] = r[i];
    return o;
  }

  function fmt(value, digits) {
    return value === null || value === undefined ? "-" : Number(value).toFixed(digits);
  }

  // one icon per colour band, shared: a marker makes its own element from it when shown
  var pins = {};
  function pinFor(score) {
    var c = colour(score);
    return pins[c] || (pins[c] = L.divIcon({className: "", html: '<div class="prm-pin" style="background:' + c + '"></div>',
                                            iconSize: [16, 16], iconAnchor: [8, 8]}));
  }

  function markerFor(row) {
    var m = L.marker([row.lat, row.lon], {
      icon: pinFor(row.score),
      title: row.display_name + ", score " + fmt(row.score, 0),
      keyboard: true,
      riseOnHover: true
    });
    m.prmId = row.provider_id;
    m.prmRow = row;  // its click and hover are the cluster group's (below): 3 listeners, not 6,000
    return m;
  }
  cluster.on("click", function (e) { if (e.layer.prmRow) select(e.layer.prmRow, true); });
  cluster.on("mouseover", function (e) { if (e.layer.prmRow) highlight(e.layer.prmRow.provider_id, true); });
  cluster.on("mouseout", function (e) { if (e.layer.prmRow) highlight(e.layer.prmRow.provider_id, false); });

  function highlight(id, on) {
    var item = list.querySelector('[data-id="' + id + '"]');
    if (item) item.classList.toggle("hot", on);
    var m = markers[id];
    if (!m) return;
    var shown = cluster.getVisibleParent(m);
    var icon = shown && shown.getElement && shown.getElement();
    if (!icon) return;
    var target = shown === m ? icon.querySelector(".prm-pin") : icon;
    if (target) target.classList.toggle("hot", on);
  }

  // ---------------------------------------------------------------- list

  // The ranked list shows the best PAGE entries of the answer, and PAGE more each time its
  // end scrolls into view or "Show more" is pressed: laying out all 2,000 entries of a
  // metro view took most of a filter change's time, and nobody reads past the first ones.
  // Entries come in rank order, so what is shown is always the top of the same answer the
  // map shows; the notice above still counts every row in view.
  var PAGE = 150;
  var rendered = 0;           // rows[0 .. rendered) have an entry in the list
  var more = null;            // the last <li>: "Show more", while rows are left to show
  var moreButton = null;
  var moreWatch = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    // scrolled into view (not reached by Tab: a focused button waits to be pressed)
    if (entries.some(function (e) { return e.isIntersecting; }) && document.activeElement !== moreButton) {
      showMore(false);
      // still in view after that page (a tall window): watched afresh, which reports at once
      if (more) { moreWatch.unobserve(more); moreWatch.observe(more); }
    }
  }, {rootMargin: "0px 0px 400px 0px"}) : null;

  function entry(row) {
    var li = document.createElement("li");
    var b = document.createElement("button");
    b.type = "button";
    b.dataset.id = row.provider_id;
    if (selectedRow && selectedRow.provider_id === row.provider_id) b.setAttribute("aria-current", "true");
    var score = document.createElement("span");
    score.className = "score";
    score.textContent = fmt(row.score, 0);
    score.setAttribute("aria-label", "score " + fmt(row.score, 1));
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = row.display_name;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (row.drive_minutes === null ? "no drive time" : fmt(row.drive_minutes, 1) + " min drive") +
      " · " + (row.specialty || "specialty unknown") + " · " + row.status;
    var practice = document.createElement("span");
    practice.className = "meta";
    practice.textContent = row.practice || "no practice on record";
    b.append(score, name, practice, meta);
    b.addEventListener("click", function () { select(row, false); });
    b.addEventListener("mouseenter", function () { highlight(row.provider_id, true); });
    b.addEventListener("mouseleave", function () { highlight(row.provider_id, false); });
    b.addEventListener("focus", function () { highlight(row.provider_id, true); });
    b.addEventListener("blur", function () { highlight(row.provider_id, false); });
    li.appendChild(b);
    return li;
  }

  // entries up to rows[upto - 1]; past the first page, announces them ("prm:list-grown")
  function renderUpTo(upto) {
    upto = Math.min(rows.length, upto);
    if (upto <= rendered) return null;
    var added = rows.slice(rendered, upto);
    var fragment = document.createDocumentFragment();
    var items = added.map(function (row) { return fragment.appendChild(entry(row)); });
    list.insertBefore(fragment, more);
    var first = rendered === 0;  // the first page goes out with "prm:rows"
    rendered = upto;
    updateMore();
    if (!first) document.dispatchEvent(new CustomEvent("prm:list-grown", {detail: {rows: added, items: items}}));
    return items;
  }

  function updateMore() {
    var left = rows.length - rendered;
    if (left <= 0) {
      if (more) {
        if (moreWatch) moreWatch.unobserve(more);
        more.remove();
        more = moreButton = null;
      }
      return;
    }
    if (!more) {
      more = document.createElement("li");
      more.className = "more";
      moreButton = document.createElement("button");
      moreButton.type = "button";
      moreButton.id = "list-more";
      moreButton.addEventListener("click", function () { showMore(true); });
      more.appendChild(moreButton);
      list.appendChild(more);
      if (moreWatch) moreWatch.observe(more);
    }
    moreButton.textContent = "Show " + Math.min(PAGE, left) + " more (" + rendered + " of " + rows.length + " shown)";
  }

  function showMore(byHand) {
    var items = renderUpTo(rendered + PAGE);
    // pressed: the keyboard goes on from the first new entry, not from the end of the list
    if (byHand && items && items.length) items[0].querySelector("button").focus();
  }

  function renderList() {
    if (more && moreWatch) moreWatch.unobserve(more);
    list.textContent = "";
    more = moreButton = null;
    rendered = 0;
    renderUpTo(PAGE);
  }

  // ---------------------------------------------------------------- loading

  function filterQuery() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      value = String(value).trim();
      if (value) params.append(key, value);
    });
    return params;
  }

  function viewQuery(params) {
    var b = map.getBounds();
    params.set("west", Math.max(-180, b.getWest()).toFixed(5));
    params.set("south", Math.max(-90, b.getSouth()).toFixed(5));
    params.set("east", Math.min(180, b.getEast()).toFixed(5));
    params.set("north", Math.min(90, b.getNorth()).toFixed(5));
    return params;
  }

  var lastQuery = null;  // the view and filters last asked for
  function load() {
    clearTimeout(timer);  // this answer covers a load still waiting (e.g. the start's moveend)
    if (expired) return;
    var params = filterQuery();
    history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
    lastQuery = viewQuery(params).toString();
    var cause = filterChanged;  // this answer shows that filter change
    filterChanged = null;
    var mine = ++sequence;
    say("Loading prospects...");
    api("/v1/prospects/viewport?" + params).then(function (answer) {
      if (mine !== sequence) return;  // a newer view or filter answered first
      // how much of a filter change is the server's answer (bench/app.py prints it)
      if (cause !== null && shown > 0) performance.measure("prm:filter-answer", cause);
      fields = answer.fields;
      rows = answer.rows.map(asObject);
      markers = {};
      cluster.clearLayers();
      markersAdded = timed;
      cluster.addLayers(rows.map(function (row) { return (markers[row.provider_id] = markerFor(row)); }));
      renderList();
      if (!rows.length) {
        say("No prospect matches these filters in this part of the map. Zoom out or clear filters.", "empty");
        mapSay("No prospect here with these filters.");
      } else {
        say(rows.length + " prospects in view, best score first" +
            (answer.truncated ? " (the best " + answer.cap + " only: zoom in or filter to see the rest)" : "") + ".");
        mapSay("");
      }
      // every row in view (the list shows the first ones; "prm:list-grown" announces more)
      document.dispatchEvent(new CustomEvent("prm:rows", {detail: rows}));
      performance.mark("prm:rows");
      // The page's own timings (bench/app.py reads them): once markers and list are both in and
      // painted, "prm:first-view" (from navigation) or "prm:filter-applied" (from the change).
      function timed() {
        requestAnimationFrame(function () {
          setTimeout(function () {
            if (shown++ === 0) performance.measure("prm:first-view");
            else if (cause !== null) performance.measure("prm:filter-applied", cause);
          }, 0);
        });
      }
    }, function (err) {
      if (mine !== sequence || err.status === 401) return;
      say("Could not load prospects. " + problemText(err), "error");
      mapSay("Could not load prospects: " + ((err.problem && err.problem.title) || "error"));
    });
  }

  var timer = null;
  var filterChanged = null;  // the performance mark of the filter change not yet shown
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  }
  function changed(e) {
    filterChanged = performance.mark("prm:filter-changed").name;
    if (e.type === "change" && e.target.tagName === "SELECT") {  // a choice made: no typing to wait for
      clearTimeout(timer);
      load();
    } else {
      soon();
    }
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("reset", function () { setTimeout(load, 0); });
  form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  map.on("moveend", function () {
    // the view the last answer was asked for (e.g. fitBounds at start, then load): no second one
    if (viewQuery(filterQuery()).toString() !== lastQuery) soon();
  });

  // ---------------------------------------------------------------- detail panel

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function table(headers, data) {
    if (!data.length) return el("p", "None.");
    var t = el("table");
    var tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", h, {scope: "col"})); });
    t.appendChild(el("thead")).appendChild(tr);
    var body = t.appendChild(el("tbody"));
    data.forEach(function (cells) {
      var r = el("tr");
      cells.forEach(function (c) { r.appendChild(el("td", c === null || c === undefined ? "-" : c)); });
      body.appendChild(r);
    });
    return t;
  }

  function label(name) {
    return String(name).replace(/_/g, " ");
  }

  // phones are stored in E.164: US numbers shown as (614) 555-0100, others as stored
  function displayPhone(phone) {
    var m = /^(?:\+1)?(\d{3})(\d{3})(\d{4})$/.exec(phone);
    return m ? "(" + m[1] + ") " + m[2] + "-" + m[3] : phone;
  }

  function renderDetail(row, brief) {
    detail.textContent = "";
    var close = el("button", "Close", {type: "button", "class": "close"});
    close.addEventListener("click", closeDetail);
    detail.appendChild(close);
    var p = brief.provider;
    detail.appendChild(el("h2", p.display_name, {id: "detail-title"}));
    detail.appendChild(el("p", [row.specialty || p.classification || p.taxonomy_code, row.practice || p.organization_name,
      [p.address_1, p.city, p.postal_code].filter(Boolean).join(", "), p.phone ? "phone " + displayPhone(p.phone) : null]
      .filter(Boolean).join(" · ")));
    var wf = brief.workflow;
    detail.appendChild(el("p", "Status: " + wf.status + " · liaison " + (wf.assigned_to || "unassigned"), {id: "detail-status"}));
    var here = brief.prospects.filter(function (x) { return x.site_code === row.site_code; })[0] || brief.prospects[0];
    // a learned model's score is a chance in per cent, its contributions log-odds (docs/scoring.md)
    var learned = here && String(here.profile).indexOf("model:") === 0;
    detail.appendChild(el("h3", !here ? "Not a scored prospect" : learned
      ? "Why this score: a " + fmt(here.score, 1) + "% chance of starting to refer within six months (" + here.site_code + ")"
      : "Why this score: " + fmt(here.score, 1) + " at " + here.site_code));
    if (here) {
      // the explanation list as the API gives it: whatever features the scoring model has
      detail.appendChild(table(["feature", learned ? "log-odds" : "contribution", "why"], here.components.map(function (c) {
        return [label(c.name), fmt(c.points, learned ? 2 : 1), c.reason];
      })));
    }
    detail.appendChild(el("h3", "Colleagues who refer"));
    detail.appendChild(table(["name", "specialty", "tier", "referrals"], brief.colleagues_referring.map(function (c) {
      return [c.display_name, c.classification, c.tier, c.referrals_window];
    })));
    detail.appendChild(el("h3", "Last interactions"));
    detail.appendChild(table(["when", "kind", "liaison", "summary"], brief.interactions.map(function (i) {
      return [String(i.occurred_at).slice(0, 16).replace("T", " "), i.kind, i.liaison, i.summary];
    })));
    detail.appendChild(el("h3", "Preferences"));
    var prefs = brief.preferences;
    detail.appendChild(el("p", prefs ? Object.keys(prefs).filter(function (k) { return k !== "provider_id" && prefs[k]; })
      .map(function (k) { return label(k) + ": " + prefs[k]; }).join(" · ") || "None given." : "None given."));
    var actions = el("div", null, {"class": "actions"});
    var link = el("a", "Printable brief", {href: "/v1/providers/" + row.provider_id + "/brief.html", target: "_blank", rel: "noopener"});
    actions.appendChild(link);
    detailActions.forEach(function (fn) { fn(row, actions); });
    detail.appendChild(actions);
  }

  function select(row, fromMap) {
    selectedRow = row;
    var at = rows.indexOf(row);  // a marker of a row the list does not show yet: show up to it
    if (at >= rendered) renderUpTo(Math.ceil((at + 1) / PAGE) * PAGE);
    list.querySelectorAll("[aria-current]").forEach(function (b) { b.removeAttribute("aria-current"); });
    var item = list.querySelector('[data-id="' + row.provider_id + '"]');
    if (item) item.setAttribute("aria-current", "true");
    if (!fromMap) highlight(row.provider_id, true);  // where it is on the map (or its cluster)
    detail.hidden = false;
    detail.textContent = "Loading " + row.display_name + "...";
    api("/v1/providers/" + row.provider_id + "/brief").then(function (brief) {
      if (selectedRow !== row) return;
      renderDetail(row, brief);
      detail.focus();
      document.dispatchEvent(new CustomEvent("prm:selected", {detail: row}));
    }, function (err) {
      if (err.status === 401) return;
      detail.textContent = "Could not load the brief. " + problemText(err);
    });
  }

  function closeDetail() {
    var id = selectedRow && selectedRow.provider_id;
    selectedRow = null;
    detail.hidden = true;
    var item = id && list.querySelector('[data-id="' + id + '"]');
    if (item) {
      item.removeAttribute("aria-current");
      item.focus();
    }
  }
  detail.addEventListener("keydown", function (e) { if (e.key === "Escape") closeDetail(); });

  // ---------------------------------------------------------------- start

  function option(select, value, text) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = text || value;
    select.appendChild(o);
  }

  function restoreFilters() {
    new URLSearchParams(location.search).forEach(function (value, key) {
      var input = form.elements[key];
      if (input) input.value = value;
    });
  }

  $("signout").addEventListener("click", function () {
    api("/v1/session", {method: "DELETE"}).then(function () {
      location.replace("/signin?next=/app");
    }, function (err) {
      if (err.status !== 401) say("Could not sign out. " + problemText(err), "error");
    });
  });

  api("/v1/session").then(function (session) {
    csrf = session.csrf_token;
    // the person signed in (a key belongs to a person); a bootstrap key has only its name
    $("who").textContent = "Signed in as " + (session.person || session.name || session.actor) +
      " (" + session.role + ")";
    return Promise.all([api("/v1/sites"), api("/v1/specialty-groups")]);
  }).then(function (answers) {
    var sites = answers[0];
    var lines = {};
    sites.forEach(function (s) {
      option($("f-site"), s.site_code, s.site_code + " - " + s.name);
      lines[s.service_line] = true;
      if (s.lat !== null && s.lon !== null) {
        L.marker([s.lat, s.lon], {
          icon: L.divIcon({className: "", html: '<div class="prm-site"></div>', iconSize: [18, 18], iconAnchor: [9, 9]}),
          title: "Clinic site " + s.site_code + ": " + s.name,
          keyboard: false, interactive: false
        }).addTo(siteLayer);
      }
    });
    Object.keys(lines).sort().forEach(function (l) { option($("f-service"), l); });
    answers[1].forEach(function (g) { option($("f-group"), g.name); });
    restoreFilters();
    var placed = sites.filter(function (s) { return s.lat !== null && s.lon !== null; });
    if (placed.length) {
      // not animated: an animated zoom keeps the old view's bounds until it ends, so the load
      // below asked for the view before, and the moveend after it for a second answer
      map.fitBounds(L.latLngBounds(placed.map(function (s) { return [s.lat, s.lon]; })).pad(0.4),
                    {animate: false});
    }
    load();
  }, function (err) {
    if (err.status !== 401) say("Could not start. " + problemText(err), "error");
  });

  window.PRM_APP = {
    api: api,
    map: map,
    refresh: load,
    addDetailAction: function (fn) { detailActions.push(fn); },
    selected: function () { return selectedRow; }
  };
})();
