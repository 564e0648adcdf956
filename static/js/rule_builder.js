/* Deskwright rule builder: keyword chips and drag-to-reorder. HTMX does the rest (the server renders
   every row, operator list and value input). Loaded by the builder screens; safe to load twice. */
(function () {
  "use strict";
  if (window.DeskwrightBuilder) return;
  window.DeskwrightBuilder = true;
  const SEPARATORS = /[,，、;；\n]/;

  // ---- keyword chips: "退款, refund" -> two chips, each a hidden input ------------------------
  function addChips(input) {
    const box = input.closest("[data-chips]");
    if (!box) return false;
    const words = input.value.split(SEPARATORS).map((w) => w.trim()).filter(Boolean);
    if (!words.length) return false;
    const have = Array.from(box.querySelectorAll("input[type=hidden]")).map((h) => h.value);
    words.forEach((word) => {
      if (have.includes(word)) return;
      have.push(word);
      const chip = document.createElement("span");
      chip.className = "chip";
      const text = document.createElement("span");
      text.className = "chip-text";
      text.textContent = word;
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = box.dataset.chipName;
      hidden.value = word;
      const x = document.createElement("button");
      x.type = "button";
      x.className = "chip-x";
      x.setAttribute("data-chip-remove", "");
      x.setAttribute("aria-label", (document.documentElement.lang.startsWith("zh") ? "删除 " : "Remove ") + word);
      x.textContent = "×";
      chip.append(text, hidden, x);
      box.insertBefore(chip, input);
    });
    input.value = "";
    box.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  document.addEventListener("keydown", (e) => {
    const input = e.target.closest && e.target.closest("[data-chip-input]");
    if (!input) return;
    if (e.key === "Enter" || e.key === "," || e.key === "，" || e.key === "、") {
      if (e.isComposing) return;   // an IME is still composing (Chinese input): Enter picks the word
      e.preventDefault();
      addChips(input);
    } else if (e.key === "Backspace" && !input.value) {
      const chips = input.closest("[data-chips]").querySelectorAll(".chip");
      if (chips.length) {
        chips[chips.length - 1].remove();
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  });
  document.addEventListener("input", (e) => {
    const input = e.target.closest && e.target.closest("[data-chip-input]");
    if (input && SEPARATORS.test(input.value)) addChips(input);
  });
  document.addEventListener("focusout", (e) => {
    const input = e.target.closest && e.target.closest("[data-chip-input]");
    if (input && input.value.trim()) addChips(input);
  });
  document.addEventListener("click", (e) => {
    const x = e.target.closest("[data-chip-remove]");
    if (!x) return;
    const box = x.closest("[data-chips]");
    x.closest(".chip").remove();
    const input = box && box.querySelector("[data-chip-input]");
    if (input) input.focus();
    if (box) box.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // (app.js marks swapped-in fragments data-htmx-ready once htmx has wired them.)

  // ---- drag to reorder: SortableJS moves the rows (and their hidden inputs), htmx posts the order --
  function initSortable(root) {
    if (typeof Sortable === "undefined") return;
    (root || document).querySelectorAll("[data-sortable]").forEach((list) => {
      if (list._sortable) return;
      if (!list.querySelector(".rule-item:not(.locked)")) return;   // nothing the viewer may move
      list._sortable = Sortable.create(list, {
        handle: ".drag-handle",
        filter: ".locked",
        preventOnFilter: false,
        animation: 150,
        ghostClass: "rule-ghost",
        onEnd: (evt) => {
          if (evt.oldIndex === evt.newIndex) return;
          list.querySelectorAll(".rule-pos").forEach((pos, i) => { pos.textContent = i + 1; });
          htmx.trigger(list.closest("form"), "end");
        },
      });
    });
  }
  // The keyboard's way: arrow keys on a row's handle move it one place, then the order is saved.
  document.addEventListener("keydown", (e) => {
    const handle = e.target.closest && e.target.closest("[data-move]");
    if (!handle || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) return;
    e.preventDefault();
    const item = handle.closest("li");
    const list = item.parentElement;
    const other = e.key === "ArrowUp" ? item.previousElementSibling : item.nextElementSibling;
    if (!other) return;
    list.insertBefore(item, e.key === "ArrowUp" ? other : other.nextElementSibling);
    const form = list.closest("form");
    const id = item.dataset.rule;
    document.addEventListener("htmx:afterSettle", () => {
      const again = document.querySelector(`li[data-rule="${id}"] [data-move]`);
      if (again) again.focus();
    }, { once: true });
    htmx.trigger(form, "end");
  });
  document.addEventListener("DOMContentLoaded", () => initSortable(document));
  document.addEventListener("htmx:load", (e) => initSortable(e.target));
  if (document.readyState !== "loading") initSortable(document);
})();
