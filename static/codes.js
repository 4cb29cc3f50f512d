// Promo code pages. Both work without this script: the expire link opens
// a confirmation page, and the server gives a code its program's time zone
// when the zone field was left at its default.
(function () {
  "use strict";

  // Expire: the confirmation as a dialog on the code's page.
  var links = document.querySelectorAll("a[data-dialog]");
  Array.prototype.forEach.call(links, function (link) {
    var dialog = document.getElementById(link.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      dialog.showModal();
    });
  });

  // Code form: the time zone follows the program while it is at its
  // default (the zone of the program shown), as the server does.
  var program = document.getElementById("program_id");
  var zone = document.getElementById("timezone");
  var shown = document.getElementById("timezone_default");
  if (!program || !zone || !shown || program.tagName !== "SELECT") return;
  program.addEventListener("change", function () {
    var option = program.options[program.selectedIndex];
    var tz = option && option.getAttribute("data-time-zone");
    if (!tz) return;
    if (zone.value === shown.value) zone.value = tz;
    shown.value = tz;
  });
})();
