// « Vos motifs »: the « Nom » list follows the service chosen. A RDV « À domicile » cannot be
// done by the secrétariat, so its checkbox is greyed out (and unchecked) while that type is
// chosen. The server refuses the combination too.
// Creating a motif, « Afficher le nom du motif dans les messages » is unticked and greyed out
// while a sensitive name of the référentiel is chosen: the server saves it so (MotifForm.save).
(function () {
  "use strict";
  function setUpDiscretion(form) {
    var showName = form.querySelector('input[type="checkbox"][name="show_name_in_messages"]');
    var category = form.querySelector('select[name="category"]');
    if (!showName || !category || !showName.hasAttribute("data-sensitive-categories")) {
      return;
    }
    var sensitive = showName.getAttribute("data-sensitive-categories").split(" ").filter(Boolean);
    var chosenBefore = showName.checked;
    function sync() {
      var isSensitive = sensitive.indexOf(category.value) !== -1;
      if (isSensitive && !showName.disabled) {
        chosenBefore = showName.checked;
        showName.checked = false;
      } else if (!isSensitive && showName.disabled) {
        showName.checked = chosenBefore;
      }
      showName.disabled = isSensitive;
    }
    category.addEventListener("change", sync);
    sync();
  }
  // « Nom » lists the référentiel by service (<optgroup>, which is all there is without
  // JavaScript): once a service is chosen, only its names and those of every service remain.
  function setUpNames(form) {
    var service = form.querySelector('select[name="service"]');
    var category = form.querySelector('select[name="category"]');
    if (!service || !category) {
      return;
    }
    var shared = category.getAttribute("data-shared-group");
    function sync() {
      var chosen = service.selectedIndex > 0 ? service.options[service.selectedIndex].text : "";
      category.querySelectorAll("optgroup").forEach(function (group) {
        var shown = !chosen || group.label === chosen || group.label === shared;
        group.hidden = !shown;
        group.disabled = !shown;
      });
      var selected = category.options[category.selectedIndex];
      if (selected && selected.parentNode.disabled) {
        category.value = "";
      }
    }
    service.addEventListener("change", sync);
    sync();
  }
  function setUp(form) {
    setUpDiscretion(form);
    setUpNames(form);
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
