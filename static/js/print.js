// The label sheet's Print button: a file, because the page's policy runs no inline script.
document.addEventListener("click", function (e) {
  if (e.target.closest("[data-print]")) window.print();
});
