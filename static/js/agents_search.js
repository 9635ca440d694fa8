// « Cliquez dans la barre de recherche « agents » afin de sélectionner le ou les agents qui
// effectueront le rendez-vous » (rendezvous/templates/rendezvous/widgets/agents_field.html): the
// bar filters the checkboxes as the agent types, whatever the accents and the case, on the first
// and last names and the service. Ticked agents always stay shown, first, so that a choice never
// disappears from sight. Without this script, the full list is there and the bar stays hidden.
(function () {
  "use strict";
  var ANNOUNCE_DELAY_MS = 400;

  function normalize(text) {
    return text
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/\s+/g, " ")
      .trim();
  }

  function agents(number) {
    return number === 1 ? "1 agent affiché" : number + " agents affichés";
  }

  function countText(query, shown, matching, ticked) {
    if (!query || matching > 0) {
      return agents(shown) + ".";
    }
    var text = "Aucun agent ne correspond à « " + query + " »";
    if (ticked === 1) {
      return text + " ; l'agent coché reste affiché.";
    }
    return text + (ticked > 1 ? " ; les " + ticked + " agents cochés restent affichés." : ".");
  }

  function setUp(fieldset) {
    var bar = fieldset.querySelector("[data-agents-search-bar]");
    var input = fieldset.querySelector("[data-agents-search-input]");
    var count = fieldset.querySelector("[data-agents-count]");
    var tickedGroup = fieldset.querySelector("[data-agents-ticked]");
    if (!bar || !input || !count || !tickedGroup) {
      return;
    }
    var tickedList = tickedGroup.querySelector(".rdv-agents__options");
    var groups = [];
    var items = Array.prototype.map.call(fieldset.querySelectorAll("[data-agent]"), function (element) {
      var group = document.getElementById(element.getAttribute("data-group"));
      if (groups.indexOf(group) === -1) {
        groups.push(group);
      }
      return {
        element: element,
        checkbox: element.querySelector('input[type="checkbox"]'),
        text: normalize(element.getAttribute("data-search")),
        rank: Number(element.getAttribute("data-rank")),
        group: group,
        list: group.querySelector(".rdv-agents__options"),
      };
    });
    // The order of the server (by last name), whichever group an agent is in now.
    items.sort(function (a, b) {
      return a.rank - b.rank;
    });
    var timer = null;

    function update(announceNow) {
      var query = input.value.trim();
      var terms = normalize(query).split(" ").filter(Boolean);
      var shown = 0;
      var matching = 0;
      var ticked = 0;
      items.forEach(function (item) {
        var matches = terms.every(function (term) {
          return item.text.indexOf(term) !== -1;
        });
        var checked = item.checkbox.checked;
        // Moved while the focus is in the search bar only, never under the agent's cursor.
        var list = checked ? tickedList : item.list;
        list.appendChild(item.element);
        item.element.hidden = !(matches || checked);
        shown += matches || checked ? 1 : 0;
        matching += matches ? 1 : 0;
        ticked += checked ? 1 : 0;
      });
      tickedGroup.hidden = ticked === 0;
      groups.forEach(function (group) {
        group.hidden = !group.querySelector("[data-agent]:not([hidden])");
      });
      var text = countText(query, shown, matching, ticked);
      window.clearTimeout(timer);
      if (announceNow) {
        count.textContent = text;
      } else {
        // Announced once the agent pauses, not at every key.
        timer = window.setTimeout(function () {
          count.textContent = text;
        }, ANNOUNCE_DELAY_MS);
      }
    }

    input.addEventListener("input", function () {
      update(false);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        // Enter searches; it does not send the form (« Créer RDV », « Enregistrer »).
        event.preventDefault();
      } else if (event.key === "Escape" && input.value) {
        event.preventDefault();
        input.value = "";
        update(false);
      } else if (event.key === "ArrowDown") {
        // To the list: the first agent shown, ticked ones first.
        var first = fieldset.querySelector('[data-agent]:not([hidden]) input[type="checkbox"]');
        if (first) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    window.addEventListener("pageshow", function () {
      update(true);
    });
    // Filled while still hidden: screen readers announce later changes, not the page's opening.
    update(true);
    bar.hidden = false;
  }

  document.querySelectorAll("[data-agents-search]").forEach(setUp);
})();
