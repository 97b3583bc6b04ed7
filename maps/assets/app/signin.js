// Sign-in page: exchanges an API key (typed once) or a one-time link (#link=...) for a session
// cookie, then goes on to the page that asked for it. The key never appears in a URL.
(function () {
  "use strict";
  var form = document.getElementById("signin");
  var status = document.getElementById("status");

  function nextPage() {
    var next = new URLSearchParams(location.search).get("next") || "/map";
    // only a path of this site: never "//host" or "https://..."
    return /^\/(?!\/)/.test(next) ? next : "/map";
  }

  function say(text) {
    status.textContent = text;
  }

  function finish(response) {
    if (response.ok) {
      location.replace(nextPage());
      return;
    }
    return response.json().then(function (problem) {
      say((problem.title || "Sign-in failed") + ": " + (problem.detail || response.status));
    }, function () {
      say("Sign-in failed (" + response.status + ")");
    });
  }

  var link = new URLSearchParams(location.hash.slice(1)).get("link");
  if (link) {
    history.replaceState(null, "", location.pathname + location.search); // the token leaves the bar
    say("Signing in with your link...");
    fetch("/v1/session/link", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token: link})
    }).then(finish, function () { say("The server did not answer."); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var key = form.elements.key.value.trim();
    if (!key) {
      say("Type your API key.");
      return;
    }
    say("Signing in...");
    fetch("/v1/session", {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-API-Key": key}
    }).then(finish, function () { say("The server did not answer."); });
  });
})();
