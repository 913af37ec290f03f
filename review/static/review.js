// Fast review: keyboard shortcuts (j/k move, a accept, r reject, u undo) and forms sent
// in the background, so the page keeps its place. Without this script the forms still
// work as plain posts. The card's data-state drives what the stylesheet shows.
(function () {
  "use strict";
  const cards = Array.from(document.querySelectorAll("#gallery .card"));
  let current = -1;

  function focus(i) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach((c, n) => c.classList.toggle("current", n === current));
    cards[current].focus();
    cards[current].scrollIntoView({ block: "nearest" });
  }

  async function send(form) {
    const card = form.closest(".card");
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const answer = await response.json();
    if (!response.ok) {
      card.querySelector(".reviewer").textContent = answer.error || "refused";
      return;
    }
    if (answer.state) card.dataset.state = answer.state;
    card.querySelector(".state").textContent = answer.state || "";
    card.querySelector(".reviewer").textContent = answer.changed
      ? (answer.reviewer ? "by " + answer.reviewer : "")
      : answer.message;
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList.contains("act")) return;
    event.preventDefault();
    focus(cards.indexOf(form.closest(".card")));
    send(form);
  });

  const keys = { a: ".act.accepted", r: ".act.rejected", u: ".act.undo" };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName)) return;
    if (event.key === "j") focus(current + 1);
    else if (event.key === "k") focus(current - 1);
    else if (keys[event.key] && current >= 0) {
      const form = cards[current].querySelector(keys[event.key]);
      if (form) send(form).then(() => { if (event.key !== "u") focus(current + 1); });
    }
  });
})();
