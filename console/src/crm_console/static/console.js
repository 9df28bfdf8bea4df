/* The console's own script (no inline scripts: the CSP forbids them). */
(function () {
  "use strict";
  // a form with data-confirm asks first
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  // kanban: drag a card onto another column = choose that stage on the card's form and send it
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal");
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
    event.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (event) {
    if (dragged && event.target.closest && event.target.closest(".column")) { event.preventDefault(); }
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (!dragged || !column) { return; }
    event.preventDefault();
    var form = dragged.querySelector("form.move");
    var stage = column.getAttribute("data-stage");
    dragged = null;
    if (form.elements.stage.value === stage) { return; }
    form.elements.stage.value = stage;
    column.querySelector(".cards").prepend(form.closest(".deal"));
    form.requestSubmit();
  });
  document.addEventListener("dragend", function () { dragged = null; });
  // a form saved by htmx as one types (data-flush: the quote editor) is only posted (Send, Save draft) once its
  // save in flight has answered, so the post carries the version that save made; after that post, no more saves
  var inFlight = null, waiting = null, leaving = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-flush") || event.defaultPrevented) { return; }
    if (inFlight === form) {
      event.preventDefault();
      waiting = event.submitter || null;
      if (waiting) { waiting.disabled = true; }
      return;
    }
    leaving = form;
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form.hasAttribute || !form.hasAttribute("data-flush")) { return; }
    if (leaving === form) { event.preventDefault(); return; }
    inFlight = form;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (inFlight !== form) { return; }
    inFlight = null;
    if (waiting === null) { return; }
    var submitter = waiting;
    waiting = null;
    if (!submitter.isConnected && submitter.id) { submitter = document.getElementById(submitter.id); }  // swapped in anew
    if (submitter && submitter.form === form) {
      submitter.disabled = false;
      form.requestSubmit(submitter);
    }
  });
  window.addEventListener("pageshow", function () { leaving = null; });
})();
