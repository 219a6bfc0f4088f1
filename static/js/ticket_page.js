// The ticket page answers its forms in place (htmx, see console/ticket.html). A form
// with errors (400) or a reply that met a newer message (409) comes back as the page
// to show, so those are swapped in too rather than treated as failures; focus goes to
// the first error, or stays where the agent was.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 400 || status === 409) && event.detail.target && event.detail.target.id === "ticket-page") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.target || event.detail.target.id !== "ticket-page") return;
    var problem = document.querySelector("#ticket-page .collision-warning, #ticket-page .errorlist");
    if (problem) {
      problem.setAttribute("tabindex", "-1");
      problem.focus();
    }
  });
})();
