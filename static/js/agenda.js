// « Vos agendas »: progressive enhancement only, every page works without it.
(function () {
  "use strict";
  // The side menu's « Calendrier de »: choosing a name with the mouse opens that calendar at
  // once; with the keyboard, arrows only move through the names and the button opens it (a
  // page must not change while one browses a list).
  document.querySelectorAll("form[data-agenda-selector]").forEach(function (form) {
    var select = form.querySelector("select");
    var byKeyboard = false;
    select.addEventListener("keydown", function () { byKeyboard = true; });
    select.addEventListener("pointerdown", function () { byKeyboard = false; });
    select.addEventListener("change", function () {
      if (!byKeyboard) {
        form.submit();
      }
    });
  });
  // « Voir dans l'agenda » (an RDV's page): the anchor brings the RDV to the window's top edge;
  // in its middle, its day's hours above and below it show too.
  var marked = document.querySelector(".rdv-agenda__rdv--highlighted");
  var anchor = marked && marked.closest("[id^='rdv-']");
  if (anchor && window.location.hash === "#" + anchor.id) {
    // After the browser's own scroll to the anchor, which happens at the page's load.
    window.addEventListener("load", function () {
      anchor.scrollIntoView({ block: "center", inline: "center" });
    });
  }
  // « Imprimer la liste du jour ».
  document.querySelectorAll("[data-agenda-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
