// The « Usagers » field of « modifier »: Enter in its search field shows the matches (htmx's
// « search » trigger) instead of saving the form. Without JavaScript, « Rechercher » does it.
document.addEventListener("keydown", function (event) {
  const input = event.target;
  if (event.key !== "Enter" || !(input instanceof HTMLInputElement) || !input.hasAttribute("data-enter-searches")) {
    return;
  }
  event.preventDefault();
  if (window.htmx) {
    window.htmx.trigger(input, "search");
  }
});
