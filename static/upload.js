// Upload progress: sends the form with XMLHttpRequest to show a progress
// bar, then shows the page the server answers (the review page). Without
// this script the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  form.addEventListener("submit", function (ev) {
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files || !input.files.length) return;
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading…";
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((e.loaded / e.total) * 100);
        status.textContent = "Uploading… " + bar.value + "%";
        if (e.loaded === e.total) status.textContent = "Checking every row…";
      }
    });
    xhr.addEventListener("load", function () {
      if (xhr.responseURL && xhr.responseURL !== form.action && xhr.status < 400) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      status.textContent = "The upload failed (network). Try again.";
      if (button) button.disabled = false;
    });
    xhr.send(new FormData(form));
  });
})();
