// « Vos motifs »: a RDV « À domicile » cannot be done by the secrétariat, so its checkbox is
// greyed out (and unchecked) while that type is chosen. The server refuses the combination too.
(function () {
  "use strict";
  function setUp(form) {
    var radios = form.querySelectorAll('input[type="radio"][name="location_type"]');
    var secretariat = form.querySelector('input[type="checkbox"][name="for_secretariat"]');
    if (!radios.length || !secretariat) {
      return;
    }
    var homeValue = radios[0].getAttribute("data-home-value");
    function sync() {
      var checked = form.querySelector('input[type="radio"][name="location_type"]:checked');
      var atHome = checked !== null && checked.value === homeValue;
      if (atHome) {
        secretariat.checked = false;
      }
      secretariat.disabled = atHome;
    }
    radios.forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  }
  document.querySelectorAll("form[data-motif-form]").forEach(setUp);
})();
