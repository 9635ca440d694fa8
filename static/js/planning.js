// « Votre planning »: the « Répéter… » fields show only when the box is ticked, and only those of
// the chosen period (weekdays for weeks, « le 2e mardi » for months). Without JavaScript every
// field shows and the server ignores those that do not apply.
(function () {
  "use strict";
  function setUpRecurrence(form) {
    var repeat = form.querySelector('input[type="checkbox"][name="repeat"]');
    var fields = form.querySelector("[data-recurrence-fields]");
    if (!repeat || !fields) {
      return;
    }
    var frequency = form.querySelector('select[name="frequency"]');
    var weekly = fields.querySelector("[data-recurrence-weekly]");
    var monthly = fields.querySelector("[data-recurrence-monthly]");
    var firstDay = form.querySelector('input[name="first_day"]');
    function sync() {
      fields.hidden = !repeat.checked;
      var isMonthly = frequency !== null && frequency.value === "monthly";
      if (weekly) {
        weekly.hidden = isMonthly;
      }
      if (monthly) {
        monthly.hidden = !isMonthly;
      }
    }
    // Ticking « Répéter… » with no weekday chosen pre-ticks the first day's weekday.
    repeat.addEventListener("change", function () {
      if (repeat.checked && firstDay && firstDay.value && weekly) {
        var boxes = weekly.querySelectorAll('input[type="checkbox"]');
        var anyChecked = Array.prototype.some.call(boxes, function (box) { return box.checked; });
        var day = new Date(firstDay.value + "T12:00:00");
        if (!anyChecked && !isNaN(day)) {
          var index = (day.getDay() + 6) % 7; // Monday = 0
          var box = weekly.querySelector('input[type="checkbox"][value="' + index + '"]');
          if (box) {
            box.checked = true;
          }
        }
      }
      sync();
    });
    if (frequency) {
      frequency.addEventListener("change", sync);
    }
    sync();
  }
  document.querySelectorAll("form[data-planning-form]").forEach(setUpRecurrence);

  // The agent selector opens the chosen agent's planning at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
})();
