// Behaviour the templates ask for by data attributes. The content security policy
// runs no inline script or event handler (onclick, onchange...), so each lives here.
//   data-print               a button that prints the page (the CD register).
//   data-submit-on-change    a control whose form is sent as soon as it changes
//                            (the clinic chooser in the navigation).
// Listeners sit on the document, so content htmx swaps in later works as well.
(function () {
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });

  document.addEventListener("change", function (event) {
    const control = event.target.closest("[data-submit-on-change]");
    if (control && control.form) {
      // submit(), as the inline handler did: no submit event, no validation.
      control.form.submit();
    }
  });
})();
