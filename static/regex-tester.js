// Live regex tester: re-runs the server's matcher as you type. The form
// works without this script (it posts and the page shows the results).
(function () {
  "use strict";
  var form = document.getElementById("regex-tester");
  if (!form || !window.fetch) return;
  var results = document.getElementById("tester-results");
  var pattern = document.getElementById("pattern");
  var timer = null;
  var seq = 0;

  function render(data) {
    results.textContent = "";
    if (pattern) pattern.setAttribute("aria-invalid", data.error ? "true" : "false");
    if (data.error) {
      var p = document.createElement("p");
      p.className = "error";
      p.textContent = data.error;
      results.appendChild(p);
      return;
    }
    var ul = document.createElement("ul");
    ul.className = "tester-results";
    data.results.forEach(function (r) {
      var li = document.createElement("li");
      li.className = r.matches ? "match" : "nomatch";
      var code = document.createElement("code");
      code.textContent = r.sample;
      li.appendChild(code);
      li.appendChild(document.createTextNode(r.matches ? " matches" : " does not match"));
      ul.appendChild(li);
    });
    results.appendChild(ul);
    if (data.examples && data.examples.length) {
      var ex = document.createElement("p");
      ex.className = "hint";
      ex.textContent = "Codes this pattern matches, for example: " + data.examples.join(", ");
      results.appendChild(ex);
    }
  }

  function update() {
    var mine = ++seq;
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, {
      method: "POST",
      headers: { "Accept": "application/json" },
      body: body,
      credentials: "same-origin"
    })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) { if (data && mine === seq) render(data); })
      .catch(function () { /* the submit button still works */ });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(update, 200);
  });
  form.classList.add("live");
})();
