// Sign-in page: exchanges an API key (typed once) or a one-time link (#link=...) for a session
// cookie, then goes on to the page that asked for it. The key never appears in a URL.
(function () {
  "use strict";
  var form = document.getElementById("signin");
  var status = document.getElementById("status");

  function nextPage() {
    var asked = new URLSearchParams(location.search).get("next") || "/map";
    // only a page of this site: "//host", "/\host", "/<tab>/host" resolve elsewhere and are refused
    var target = new URL(asked, location.origin);
    return target.origin === location.origin ? target.pathname + target.search : "/map";
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

  function useLink(token) {
    say("Signing in with your link...");
    fetch("/v1/session/link", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token: token})
    }).then(finish, function () { say("The server did not answer."); });
  }

  var link = new URLSearchParams(location.hash.slice(1)).get("link");
  if (link) {
    history.replaceState(null, "", location.pathname + location.search); // the token leaves the bar
  }
  // Already signed in (a page reached from another site arrives without the SameSite=Strict
  // cookie, then is sent here): go on. A link while signed in asks first, so a link someone
  // else made cannot silently swap this browser's session for theirs.
  fetch("/v1/session", {credentials: "same-origin"}).then(function (response) {
    if (!response.ok) {
      if (link) useLink(link);
      return;
    }
    return response.json().then(function (session) {
      if (!link) {
        location.replace(nextPage());
        return;
      }
      say("You are signed in as " + (session.name || session.actor) + ". ");
      var other = document.createElement("button");
      other.type = "button";
      other.textContent = "Sign in with the link instead";
      other.addEventListener("click", function () { useLink(link); });
      status.appendChild(other);
      other.focus();
    });
  }, function () { if (link) useLink(link); });

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
