/* Deskwright: keyboard shortcuts, the queue's bulk bar, upload checks, htmx error toasts.
   Small on purpose: the server renders everything; this only wires keys and widgets. */
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

  function toast(message) {
    const box = $("#toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._t);
    box._t = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // ---- help overlay -------------------------------------------------------------------
  function help(open) { const o = $("#help-overlay"); if (o) o.hidden = !open; }
  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-help-open]")) help(true);
    if (e.target.closest("[data-help-close]") || e.target.id === "help-overlay") help(false);
  });

  // ---- queue: row selection with j/k, Enter opens, x toggles ----------------------------
  function rows() { return $$(".ticket-row"); }
  function selectRow(i) {
    const all = rows();
    if (!all.length) return;
    i = Math.max(0, Math.min(all.length - 1, i));
    all.forEach((r) => r.classList.remove("selected"));
    all[i].classList.add("selected");
    all[i].scrollIntoView({ block: "nearest" });
  }
  function current() { return rows().findIndex((r) => r.classList.contains("selected")); }

  document.addEventListener("click", (e) => {
    const row = e.target.closest(".ticket-row");
    if (!row || e.target.closest("a, input, button, label")) return;
    window.location = row.dataset.href;
  });

  let gPressed = false;
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { help(false); if (typing(document.activeElement)) document.activeElement.blur(); return; }
    if (typing(e.target) || e.metaKey || e.ctrlKey || e.altKey) return;
    const onQueue = !!$(".ticket-table");
    if (e.key === "?") { help(true); e.preventDefault(); return; }
    if (e.key === "/") { const s = $(".filter-search") || $(".topsearch input[type=search]"); if (s) { s.focus(); e.preventDefault(); } return; }
    if (gPressed && e.key === "q") { window.location = $(".brand").href; return; }
    gPressed = e.key === "g";
    if (onQueue) {
      if (e.key === "j") { selectRow(current() + 1); e.preventDefault(); }
      else if (e.key === "k") { selectRow(current() - 1); e.preventDefault(); }
      else if (e.key === "Enter" || e.key === "o") {
        const r = rows()[current()]; if (r) window.location = r.dataset.href;
      } else if (e.key === "x") {
        const r = rows()[current()]; if (r) { const c = $("input[type=checkbox]", r); c.checked = !c.checked; updateBulk(); }
      }
    }
    const composer = $("#composer");
    if (composer && (e.key === "r" || e.key === "n")) {
      const radio = $(e.key === "r" ? "[data-kind-reply]" : "[data-kind-note]", composer);
      radio.checked = true; setKind(composer);
      $("#composer-body").focus(); e.preventDefault();
    }
  });

  // ---- bulk bar ---------------------------------------------------------------------------
  function updateBulk() {
    const form = $("#bulk-form");
    if (!form) return;
    const n = $$("input[name=ticket]:checked").length;
    const label = $("[data-bulk-count]", form);
    if (label) label.textContent = n ? (document.documentElement.lang.startsWith("zh") ? `已选 ${n} 个工单` : `${n} selected`) : label.dataset.empty || label.textContent;
  }
  document.addEventListener("change", (e) => {
    if (e.target.matches("[data-check-all]")) {
      $$("input[name=ticket]").forEach((c) => { c.checked = e.target.checked; });
    }
    if (e.target.matches("input[name=ticket], [data-check-all]")) updateBulk();
    if (e.target.matches("[data-bulk-action]")) {
      const action = e.target.value;
      $$("[data-bulk-value]").forEach((el) => {
        const on = el.dataset.bulkValue.split(" ").includes(action);
        el.hidden = !on; el.disabled = !on;
      });
    }
    if (e.target.matches("[data-kind-reply], [data-kind-note]")) setKind(e.target.closest("form"));
    if (e.target.matches("[data-file-input]")) checkFiles(e.target);
  });
  // A fragment htmx swapped in gets data-htmx-ready once its own hx-* attributes work (htmx wires new
  // content a moment after inserting it): browser tests wait for it instead of sleeping.
  document.addEventListener("htmx:load", (e) => {
    if (e.target !== document.body && e.target.setAttribute) e.target.setAttribute("data-htmx-ready", "");
  });
  document.addEventListener("htmx:load", () => {
    const label = $("[data-bulk-count]");
    if (label && !label.dataset.empty) label.dataset.empty = label.textContent;
  });

  // ---- composer ---------------------------------------------------------------------------
  function setKind(form) {
    if (!form) return;
    const note = $("[data-kind-note]", form).checked;
    form.classList.toggle("composer-note", note);
    form.classList.toggle("composer-reply", !note);
    const ta = $("#composer-body", form);
    if (!ta.dataset.replyPlaceholder) ta.dataset.replyPlaceholder = ta.placeholder;
    ta.placeholder = note ? ta.dataset.notePlaceholder : ta.dataset.replyPlaceholder;
  }
  function checkFiles(input) {
    const form = input.closest("form");
    const max = parseInt(form.dataset.maxUpload || "0", 10);
    const names = $("[data-file-names]", form);
    const err = $("[data-client-error]", form);
    const files = Array.from(input.files);
    names.textContent = files.map((f) => f.name).join(", ");
    const big = files.filter((f) => max && f.size > max);
    if (big.length) {
      // Limits under 1 MB (small installs, tests) in KB: "Larger than 0 MB" would say nothing.
      const limit = max >= 1048576 ? `${Math.round(max / 1048576)} MB` : `${Math.max(1, Math.round(max / 1024))} KB`;
      err.textContent = (document.documentElement.lang.startsWith("zh") ? `文件超过 ${limit}：` : `Larger than ${limit}: `) + big.map((f) => f.name).join(", ");
      err.hidden = false;
    } else { err.hidden = true; }
  }
  document.addEventListener("submit", (e) => {
    const err = e.target.querySelector && $("[data-client-error]", e.target);
    if (err && !err.hidden) { e.preventDefault(); e.stopPropagation(); err.scrollIntoView({ block: "center" }); }
  }, true);
  document.addEventListener("htmx:confirm", (e) => {
    const form = e.target.closest && e.target.closest("form");
    const err = form && $("[data-client-error]", form);
    if (err && !err.hidden) e.preventDefault();
  });

  // ---- htmx: swap our own 422 answers (a form with its errors); toast the rest ---------------
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 422) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
  document.addEventListener("htmx:responseError", (e) => {
    const s = e.detail.xhr.status;
    const zh = document.documentElement.lang.startsWith("zh");
    if (s === 413) toast(zh ? "文件太大，未发送。您输入的内容已保留。" : "The upload is too large and was not sent. Your text is kept.");
    else if (s === 400) toast(zh ? "请求无效（会话可能已过期），请刷新页面。" : "The request was refused (the session may have expired). Reload the page.");
    else if (s === 404) toast(zh ? "未找到或无权访问。" : "Not found, or you don't have access.");
    else toast((zh ? "出错了：" : "Something went wrong: ") + s);
  });
  document.addEventListener("htmx:sendError", () => toast(document.documentElement.lang.startsWith("zh") ? "无法连接服务器，请重试。" : "Can't reach the server. Try again."));

  // Tabs on the ticket page
  document.addEventListener("click", (e) => {
    const tab = e.target.closest(".tab");
    if (!tab) return;
    $$(".tab").forEach((t) => { t.classList.toggle("active", t === tab); t.setAttribute("aria-selected", t === tab); });
  });

  // Picking queue columns: mark the request so the server remembers them. Capture phase, so the
  // marker is on before htmx (listening on the form) sends the change.
  document.addEventListener("change", (e) => {
    if (!e.target.matches("input[name=column]")) return;
    const marker = e.target.form && e.target.form.querySelector("[data-columns-set]");
    if (marker) marker.disabled = false;
  }, true);

  // Debounced search-as-you-type for the queue filter
  let timer;
  document.addEventListener("input", (e) => {
    if (!e.target.matches("[data-debounce]")) return;
    clearTimeout(timer);
    timer = setTimeout(() => htmx.trigger(e.target.form, e.target.dataset.debounce), 350);
  });
})();
