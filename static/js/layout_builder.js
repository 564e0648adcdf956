/* Deskwright custom fields & layouts admin: drag and drop (SortableJS), tabs, the palette search,
   the drawer and the remove-value dialog. The server renders everything; after a drag this only
   writes the new order into the form and lets htmx post it. Safe to load twice. */
(function () {
  "use strict";
  if (window.DeskwrightLayoutBuilder) return;
  window.DeskwrightLayoutBuilder = true;
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  // A swapped-in element and what it holds (htmx:load's target may be the element itself).
  const within = (root, sel) => (root.matches && root.matches(sel) ? [root] : []).concat($$(sel, root));
  const DRAG = { animation: 150, forceFallback: true, fallbackTolerance: 3, ghostClass: "drag-ghost", chosenClass: "drag-chosen" };

  // ---- the layout builder: palette -> sections, fields between sections, sections themselves ----
  function arrangement(form) {
    return $$("[data-section]", form).map((section) => ({
      id: section.dataset.section,
      keys: $$("[data-section-fields] > [data-key]", section).map((item) => item.dataset.key),
    }));
  }
  function postArrangement(form) {
    form.querySelector("[data-arrangement]").value = JSON.stringify(arrangement(form));
    form.querySelector("[data-arrange]").click();
  }

  function initLayout(root) {
    if (typeof Sortable === "undefined") return;
    within(root, "form[data-layout-builder]").concat(root.closest ? [root.closest("form[data-layout-builder]")] : [])
      .filter(Boolean).forEach((form) => {
        const palette = form.querySelector("[data-palette]");
        if (palette && !palette._sortable) {
          palette._sortable = Sortable.create(palette, { ...DRAG, group: { name: "layout", pull: "clone", put: false },
            sort: false, filter: "button", preventOnFilter: false,
            onEnd: (e) => { if (e.to !== e.from) postArrangement(form); } });
        }
        $$("[data-section-fields]", form).forEach((list) => {
          if (list._sortable) return;
          list._sortable = Sortable.create(list, { ...DRAG, group: { name: "layout", pull: true, put: true },
            handle: ".drag-handle",
            onEnd: (e) => { if (e.to !== e.from || e.oldIndex !== e.newIndex) postArrangement(form); } });
        });
        const sections = form.querySelector("[data-sections]");
        if (sections && !sections._sortable) {
          sections._sortable = Sortable.create(sections, { ...DRAG, handle: ".section-handle", draggable: ".layout-section",
            onEnd: (e) => { if (e.oldIndex !== e.newIndex) postArrangement(form); } });
        }
      });
  }

  // ---- the palette's search box: filters the fields as you type ----------------------------------
  function filterPalette(input) {
    const aside = input.closest(".layout-palette");
    if (!aside) return;
    const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    $$("[data-palette] > [data-key]", aside).forEach((item) => {
      const hit = words.every((w) => item.dataset.search.includes(w));
      item.hidden = !hit;
      shown += hit ? 1 : 0;
    });
    const none = aside.querySelector("[data-palette-none]");
    if (none) none.hidden = shown > 0;
  }
  document.addEventListener("input", (e) => {
    if (e.target.matches && e.target.matches("[data-palette-search]")) filterPalette(e.target);
  });
  document.addEventListener("keydown", (e) => {
    // Enter in the search box must not submit (save) the layout form.
    if (e.key === "Enter" && e.target.matches && e.target.matches("[data-palette-search]")) e.preventDefault();
    if (e.key === "Escape") {
      const drawer = document.querySelector("[data-drawer]");
      if (drawer && drawer.contains(document.activeElement)) closeDrawer(drawer);
    }
  });

  // ---- the drawer (a placed field's settings) ------------------------------------------------
  function closeDrawer(drawer) {
    const empty = document.createElement("div");
    empty.id = "layout-drawer";
    const key = drawer.querySelector("[data-apply-settings]");
    drawer.replaceWith(empty);
    const opener = key && document.querySelector(`.placed-field[data-key="${CSS.escape(JSON.parse(key.getAttribute("hx-vals"))._key)}"] .placed-main`);
    if (opener) opener.focus();
  }
  document.addEventListener("click", (e) => {
    const close = e.target.closest && e.target.closest("[data-drawer-close]");
    if (close) closeDrawer(close.closest("[data-drawer]"));
  });

  // ---- the field editor: department tabs, option rows, the remove-value dialog ----------------
  document.addEventListener("click", (e) => {
    const tab = e.target.closest && e.target.closest("[data-tabset] [data-tab]");
    if (!tab) return;
    const set = tab.closest("[data-tabset]");
    $$("[data-tab]", set).forEach((t) => t.setAttribute("aria-selected", String(t === tab)));
    $$("[data-tab-panel]", set).forEach((p) => { p.hidden = p.dataset.tabPanel !== tab.dataset.tab; });
    const state = tab.closest("form") && tab.closest("form").querySelector("[data-tab-state]");
    if (state) state.value = tab.dataset.tab;
  });
  document.addEventListener("keydown", (e) => {
    const tab = e.target.closest && e.target.closest("[data-tabset] [role=tab]");
    if (!tab || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
    const tabs = $$("[role=tab]", tab.parentElement);
    const next = tabs[(tabs.indexOf(tab) + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
  });

  function initOptions(root) {
    if (typeof Sortable === "undefined") return;
    within(root, "[data-option-rows]").forEach((list) => {
      if (list._sortable) return;
      // The rows' order is the order their inputs post in; the panel is rendered again so the
      // move buttons and error places follow the new order.
      list._sortable = Sortable.create(list, { ...DRAG, handle: "[data-option-drag]",
        onEnd: (e) => { if (e.oldIndex !== e.newIndex) htmx.trigger(list.closest("form"), "options-moved"); } });
    });
  }

  // The dialog arrives open (readable without this script); made modal here, so focus stays in it.
  function initDialogs(root) {
    within(root, "dialog[data-modal]").forEach((dialog) => {
      if (dialog._shown || typeof dialog.showModal !== "function") return;
      dialog._shown = true;
      dialog.removeAttribute("open");
      dialog.showModal();
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); dialog.remove(); });
    });
  }
  document.addEventListener("click", (e) => {
    const close = e.target.closest && e.target.closest("[data-modal-close]");
    if (close) close.closest("dialog").remove();
  });

  // ---- wiring ------------------------------------------------------------------------------------
  function init(root) {
    initLayout(root);
    initOptions(root);
    initDialogs(root);
    within(root, "[data-palette-search]").forEach(filterPalette);
  }
  document.addEventListener("htmx:load", (e) => init(e.target));  // app.js marks it data-htmx-ready
  // On a phone the admin bar scrolls sideways: bring this screen's tab into view.
  function showCurrentTab() {
    const tab = document.querySelector(".admin-tabs [aria-current=page]");
    if (tab && tab.parentElement.scrollWidth > tab.parentElement.clientWidth) {
      tab.parentElement.scrollLeft = tab.offsetLeft - (tab.parentElement.clientWidth - tab.offsetWidth) / 2;
    }
  }
  document.addEventListener("DOMContentLoaded", () => { init(document); showCurrentTab(); });
  if (document.readyState !== "loading") { init(document); showCurrentTab(); }
})();
