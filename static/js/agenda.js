// « Vos agendas » and « Tous les RDVs »: progressive enhancement only, every page works without it.
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
  // « Tous les RDVs »: « Tout cocher », the boxes of the page's rows at once. A native checkbox,
  // so the keyboard (Space) and screen readers know it; « mixed » when only some rows are ticked.
  document.querySelectorAll("[data-select-all]").forEach(function (group) {
    var all = group.querySelector('input[type="checkbox"]');
    var boxes = document.querySelectorAll('input[type="checkbox"][name="' + group.dataset.selectAll + '"]');
    if (!all || boxes.length === 0) {
      return;
    }
    function sync() {
      var ticked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
      all.checked = ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      all.indeterminate = false;
    });
    boxes.forEach(function (box) { box.addEventListener("change", sync); });
    sync();
    group.hidden = false;
  });
  // « Imprimer la liste du jour ».
  document.querySelectorAll("[data-agenda-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
