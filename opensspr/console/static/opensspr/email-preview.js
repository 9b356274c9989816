// The organisation page's email preview follows the closing words as they are typed,
// before anything is saved: the same rule as channels.services.with_closing.
(function () {
  "use strict";
  function init() {
    var field = document.getElementById("id_email_closing");
    var shown = document.getElementById("email-preview-closing");
    if (!field || !shown) {
      return;
    }
    function update() {
      var words = field.value.trim();
      shown.textContent = words ? "\n\n-- \n" + words : "";
    }
    field.addEventListener("input", update);
    update();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
