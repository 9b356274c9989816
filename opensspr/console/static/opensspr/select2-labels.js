// Django admin's autocomplete (Select2) leaves the search box of a multiple choice without
// an accessible name; name it after the field's own label, whenever Select2 draws it anew.
(function () {
  "use strict";
  function name(field) {
    var container = field.closest(".select2-container");
    var select = container && container.previousElementSibling;
    if (!select || !select.id) return;
    var label = document.querySelector('label[for="' + select.id + '"]');
    var text = label ? label.textContent.trim().replace(/:$/, "") : "";
    if (text && field.getAttribute("aria-label") !== text) field.setAttribute("aria-label", text);
  }
  function nameAll() {
    document.querySelectorAll(".select2-search__field").forEach(name);
  }
  new MutationObserver(nameAll).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", nameAll);
})();
