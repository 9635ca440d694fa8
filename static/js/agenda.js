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
  // « Imprimer la liste du jour ».
  document.querySelectorAll("[data-agenda-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
