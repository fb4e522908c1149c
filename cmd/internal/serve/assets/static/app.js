// chorus-elt serve: in-page transcript search. Filters the utterances to
// those holding the words typed and marks the words; built with DOM calls
// only (no innerHTML), so transcript text is never parsed as markup.
"use strict";
(function () {
  const input = document.getElementById("transcript-search");
  const list = document.getElementById("utterances");
  if (!input || !list) return;
  const count = document.getElementById("search-count");
  const items = Array.from(list.querySelectorAll("li.utt"));
  const texts = items.map((li) => li.querySelector(".text"));
  const originals = texts.map((t) => t.textContent);

  function mark(el, text, needle) {
    el.textContent = "";
    if (!needle) {
      el.appendChild(document.createTextNode(text));
      return;
    }
    const lower = text.toLowerCase();
    if (lower.length !== text.length) { // case folding moved the offsets
      el.appendChild(document.createTextNode(text));
      return;
    }
    let at = 0;
    for (;;) {
      const i = lower.indexOf(needle, at);
      if (i < 0) break;
      el.appendChild(document.createTextNode(text.slice(at, i)));
      const m = document.createElement("mark");
      m.textContent = text.slice(i, i + needle.length);
      el.appendChild(m);
      at = i + needle.length;
    }
    el.appendChild(document.createTextNode(text.slice(at)));
  }

  function apply() {
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    items.forEach((li, n) => {
      const hit = !needle || originals[n].toLowerCase().includes(needle);
      li.classList.toggle("hidden", !hit);
      mark(texts[n], originals[n], hit ? needle : "");
      if (hit) shown++;
    });
    count.textContent = needle ? shown + " of " + items.length + " lines" : items.length + " lines";
  }

  input.addEventListener("input", apply);
  // A #q=words fragment (never sent to the server) pre-fills the search.
  const frag = new URLSearchParams(location.hash.slice(1)).get("q");
  if (frag) input.value = frag;
  apply();
})();
