// The console's upload: files dropped or chosen are sent one by one with their progress shown;
// the grid reloads (htmx) once they are in. Where the server offers resumable uploads (the drop
// zone's data-tus), a file goes by tus 1.0 in chunks: an upload broken off (a lost connection, a
// closed tab) resumes from the server's offset when the same file is sent again or "Resume" is
// pressed; otherwise it goes as one multipart request to /console/assets/upload.
(function () {
  "use strict";
  function setup() {
    var zone = document.getElementById("dropzone");
    if (!zone) return;
    var input = document.getElementById("upload-files");
    var list = document.getElementById("upload-list");
    var csrf = zone.dataset.csrf;

    function b64(text) {
      var bytes = new TextEncoder().encode(text), bin = "";
      bytes.forEach(function (b) { bin += String.fromCharCode(b); });
      return btoa(bin);
    }

    function tusRequest(method, url, headers, body, onProgress) {
      return new Promise(function (resolve) {
        var xhr = new XMLHttpRequest();
        xhr.open(method, url);
        xhr.setRequestHeader("Tus-Resumable", "1.0.0");
        xhr.setRequestHeader("X-CSRF-Token", csrf);
        Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
        if (onProgress) xhr.upload.onprogress = function (e) { onProgress(e.loaded); };
        xhr.onload = function () { resolve(xhr); };
        xhr.onerror = xhr.onabort = function () { resolve(null); };
        xhr.send(body === undefined ? null : body);
      });
    }

    function problem(xhr) {
      try { return JSON.parse(xhr.responseText).detail || xhr.statusText; } catch (err) { return xhr.statusText; }
    }

    // One file by tus: resolves with the asset id, or rejects with a message (the upload's URL is
    // kept in localStorage under the file's name, size and date, so sending it again resumes).
    function tusSend(file, bar, setState) {
      var key = "reelforge-upload:" + file.name + ":" + file.size + ":" + file.lastModified;
      var chunk = parseInt(zone.dataset.chunkBytes, 10) || 4194304;
      var url = window.localStorage ? localStorage.getItem(key) : null;
      var offset = 0;
      function show() { bar.value = file.size ? Math.round((100 * offset) / file.size) : 100; }
      function forget() { if (window.localStorage) localStorage.removeItem(key); }
      function finish(xhr) {
        var id = xhr.getResponseHeader("Reelforge-Asset-Id");
        if (id) { forget(); bar.value = 100; return Promise.resolve(id); }
        var failed = xhr.getResponseHeader("Reelforge-Upload-Error");
        if (failed) { forget(); return Promise.reject(failed); }
        return null;
      }
      function start() {
        if (!url) return create();
        return tusRequest("HEAD", url, {}).then(function (xhr) {
          if (xhr === null) return Promise.reject("the connection broke");
          if (xhr.status !== 200) { forget(); url = null; return create(); }
          offset = parseInt(xhr.getResponseHeader("Upload-Offset"), 10) || 0;
          if (offset > 0) setState("resuming at " + Math.round((100 * offset) / file.size) + "%");
          show();
          return finish(xhr) || next();
        });
      }
      function create() {
        var meta = ["filename " + b64(file.name), "filetype " + b64(file.type || "application/octet-stream")];
        var tags = document.getElementById("upload-tags").value.trim();
        if (tags) meta.push("tags " + b64(tags));
        return tusRequest("POST", zone.dataset.tus, { "Upload-Length": String(file.size), "Upload-Metadata": meta.join(",") })
          .then(function (xhr) {
            if (xhr === null) return Promise.reject("the connection broke");
            if (xhr.status !== 201) return Promise.reject(problem(xhr));
            url = xhr.getResponseHeader("Location");
            if (window.localStorage) localStorage.setItem(key, url);
            return finish(xhr) || next();
          });
      }
      function next() {
        var end = Math.min(file.size, offset + chunk);
        var headers = { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" };
        var from = offset;
        return tusRequest("PATCH", url, headers, file.slice(from, end), function (loaded) {
          bar.value = Math.round((100 * (from + loaded)) / file.size);
        }).then(function (xhr) {
          if (xhr === null) return Promise.reject("interrupted");
          if (xhr.status === 409 || xhr.status === 423) return start(); // learn the offset again
          if (xhr.status !== 204) return Promise.reject(problem(xhr));
          offset = parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
          setState("uploading");
          show();
          return finish(xhr) || next();
        });
      }
      return start();
    }

    function sendByTus(file, item, bar, state) {
      return new Promise(function (resolve) {
        function attempt() {
          state.className = "state";
          tusSend(file, bar, function (text) { state.textContent = text; }).then(function (id) {
            state.textContent = "";
            var link = document.createElement("a");
            link.href = "/console/assets/" + id;
            link.textContent = "uploaded: open";
            state.append(link);
            item.dataset.assetId = id;
            if (item.dataset.interrupted) { delete item.dataset.interrupted; refreshGrid(); }
            resolve();
          }, function (why) {
            state.textContent = why === "interrupted" ? "interrupted at " + bar.value + "% " : "failed: " + why + " ";
            state.className = "state error";
            var again = document.createElement("button");
            again.type = "button";
            again.textContent = "Resume";
            again.setAttribute("aria-label", "Resume the upload of " + file.name);
            again.addEventListener("click", function () { again.remove(); attempt(); });
            state.append(again);
            item.dataset.interrupted = "true";
            resolve();
          });
        }
        attempt();
      });
    }

    function send(file) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = file.name;
      var bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", "Upload of " + file.name);
      var state = document.createElement("span");
      state.className = "state";
      state.textContent = "uploading";
      item.append(label, bar, state);
      list.append(item);
      if (zone.dataset.tus && window.XMLHttpRequest && window.TextEncoder && file.slice) {
        return sendByTus(file, item, bar, state);
      }
      return new Promise(function (resolve) {
        var form = new FormData();
        form.append("tags", document.getElementById("upload-tags").value);
        form.append("file", file, file.name);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", "/console/assets/upload");
        xhr.setRequestHeader("X-CSRF-Token", csrf);
        xhr.upload.onprogress = function (e) {
          if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
        };
        xhr.onload = function () {
          var body = {};
          try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
          if (xhr.status === 200 || xhr.status === 201) {
            bar.value = 100;
            state.textContent = "";
            var link = document.createElement("a");
            link.href = body.page;
            link.textContent = body.deduplicated ? "already here: open" : "uploaded: open";
            state.append(link);
            item.dataset.assetId = body.id;
          } else {
            state.textContent = "failed: " + (body.detail || xhr.statusText);
            state.className = "state error";
          }
          resolve();
        };
        xhr.onerror = function () { state.textContent = "failed: the connection broke"; state.className = "state error"; resolve(); };
        xhr.send(form);
      });
    }

    function sendAll(files) {
      var chain = Promise.resolve();
      Array.prototype.forEach.call(files, function (f) { chain = chain.then(function () { return send(f); }); });
      chain.then(refreshGrid);
    }

    function refreshGrid() {
      if (window.htmx) htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#grid", select: "#grid", swap: "outerHTML" });
    }

    input.addEventListener("change", function () { sendAll(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) { sendAll(e.dataTransfer.files); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup); else setup();
})();

// A render's page follows its progress from the console's event stream; when the render ends
// the page reloads to show its outputs (or its error).
(function () {
  "use strict";
  function follow() {
    var box = document.getElementById("render-status");
    if (!box || !box.dataset.stream || !window.EventSource) return;
    var stream = new EventSource(box.dataset.stream);
    stream.addEventListener("render", function (message) {
      var render = JSON.parse(message.data);
      document.getElementById("render-state").textContent = render.state;
      document.getElementById("render-progress").value = render.progress;
      document.getElementById("render-percent").textContent = render.progress + "%";
      document.getElementById("render-eta").textContent =
        render.eta_seconds != null ? "· about " + Math.round(render.eta_seconds) + " s left" : "";
      box.dataset.state = render.state;
      if (["succeeded", "failed", "cancelled"].indexOf(render.state) >= 0) {
        stream.close();
        window.location.reload();
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", follow); else follow();
})();

// A transcript's review: a cue's time button plays the media from the cue's start, and the
// cue being played is marked (aria-current) as the media plays. Delegated from the document, so
// it holds after the page swaps its content in (htmx, while the transcript is being made).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("#cues button.seek");
    var player = document.getElementById("player");
    if (!button || !player) return;
    player.currentTime = parseFloat(button.dataset.start) + 0.001;
    var playing = player.play();
    if (playing && playing.catch) playing.catch(function () {});
  });
  document.addEventListener("timeupdate", function (e) {
    if (e.target.id !== "player") return;
    var t = e.target.currentTime;
    document.querySelectorAll("#cues li.cue").forEach(function (cue) {
      var on = t >= parseFloat(cue.dataset.start) && t < parseFloat(cue.dataset.end);
      if (on) cue.setAttribute("aria-current", "true"); else cue.removeAttribute("aria-current");
    });
  }, true);  // media events do not bubble: caught on the way down
})();

// A template form's list variables: rows added, removed and moved up or down; each change
// renumbers the rows' field names (v.<list>.<row>.<field>), ids and labels so the server reads
// them in the order shown. After a preview, the fields its problems point at are marked invalid.
(function () {
  "use strict";
  function renumber(fieldset) {
    var list = fieldset.dataset.list;
    var rows = fieldset.querySelectorAll(".row-list > li.row");
    Array.prototype.forEach.call(rows, function (row, i) {
      row.dataset.rowIndex = String(i);
      row.querySelectorAll(".row-number").forEach(function (n) { n.textContent = String(i + 1); });
      row.querySelectorAll(".row-field").forEach(function (box) {
        var name = box.dataset.field;
        var id = "f-" + list + "-" + i + "-" + name;
        var input = box.querySelector("input, select, textarea");
        var hint = box.querySelector("small[id]");
        input.name = "v." + list + "." + i + "." + name;
        input.id = id;
        input.dataset.pointer = "#/values/" + list + "/" + i + "/" + name;
        if (hint) { hint.id = id + "-hint"; input.setAttribute("aria-describedby", hint.id); }
        box.querySelector("label").htmlFor = id;
      });
      row.querySelector('[data-row="up"]').setAttribute("aria-label", "Move " + list + " row " + (i + 1) + " up");
      row.querySelector('[data-row="down"]').setAttribute("aria-label", "Move " + list + " row " + (i + 1) + " down");
      row.querySelector('[data-row="remove"]').setAttribute("aria-label", "Remove " + list + " row " + (i + 1));
    });
    var add = fieldset.querySelector('[data-row="add"]');
    if (add && add.dataset.max) add.disabled = rows.length >= parseInt(add.dataset.max, 10);
  }

  function setup() {
    var form = document.getElementById("values-form");
    if (!form) return;
    form.querySelectorAll("fieldset.rows").forEach(renumber);
    form.addEventListener("click", function (e) {
      var button = e.target.closest("button[data-row]");
      if (!button) return;
      var fieldset = button.closest("fieldset.rows");
      var list = fieldset.querySelector(".row-list");
      var row = button.closest("li.row");
      var action = button.dataset.row, focus = null;
      if (action === "add") {
        var blank = fieldset.querySelector("template.row-template").content.firstElementChild.cloneNode(true);
        list.append(blank);
        focus = blank.querySelector("input, select");
      } else if (action === "remove") {
        var after = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        focus = after ? after.querySelector('[data-row="remove"]') : fieldset.querySelector('[data-row="add"]');
      } else if (action === "up" && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
        focus = button;
      } else if (action === "down" && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
        focus = button;
      }
      renumber(fieldset);
      if (focus) focus.focus();
    });
    // Switching the locale previews again once stills are shown.
    var locale = document.getElementById("locale");
    if (locale) locale.addEventListener("change", function () {
      if (window.htmx && document.querySelector("#stills figure")) htmx.trigger(form, "preview");
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (!e.detail.target || e.detail.target.id !== "stills") return;
      form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
      document.querySelectorAll("#problems code").forEach(function (code) {
        var input = form.querySelector('[data-pointer="' + code.textContent.trim() + '"]');
        if (input) input.setAttribute("aria-invalid", "true");
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup); else setup();
})();

// A refused htmx request shows why in place: the console answers an htmx request's error with a
// fragment (role="alert") that replaces what was asked for. An answer that is not one (a
// problem+json from the API layer, a proxy's error page) or no answer at all (the connection
// broke) is shown the same way, written here from what it says.
(function () {
  "use strict";
  function alertFor(status, title, detail, pointers) {
    var box = document.createElement("div");
    box.className = "problem";
    box.setAttribute("role", "alert");
    box.dataset.status = String(status);
    var head = document.createElement("p");
    head.className = "problem-title";
    var strong = document.createElement("strong");
    strong.textContent = title;
    head.append(strong);
    box.append(head);
    if (detail) {
      var text = document.createElement("p");
      text.className = "error problem-detail";
      text.textContent = detail;
      box.append(text);
    }
    if (pointers.length) {
      var list = document.createElement("ul");
      list.className = "problems";
      pointers.forEach(function (e) {
        var item = document.createElement("li");
        var code = document.createElement("code");
        code.textContent = e.pointer || e.parameter || e.field || e.header || "";
        item.append(code, " " + (e.detail || ""));
        list.append(item);
      });
      box.append(list);
    }
    return box;
  }
  function fromAnswer(xhr) {
    var problem = null;
    try { problem = JSON.parse(xhr.responseText); } catch (err) { problem = null; }
    if (problem && typeof problem === "object") {
      return alertFor(xhr.status, problem.title || "The request was refused (" + xhr.status + ").",
        problem.detail || "", Array.isArray(problem.errors) ? problem.errors : []);
    }
    return alertFor(xhr.status, "The request failed (" + xhr.status + (xhr.statusText ? " " + xhr.statusText : "") + ").",
      "Try again; if it keeps failing, reload the page.", []);
  }
  document.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (!xhr || xhr.status < 400) return;
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") === 0 && xhr.responseText) return; // the console's own fragment
    e.detail.shouldSwap = true;
    e.detail.serverResponse = fromAnswer(xhr).outerHTML;
    e.detail.selectOverride = ".problem";
    e.detail.swapOverride = "innerHTML";
  });
  document.addEventListener("htmx:sendError", function (e) {
    var target = e.detail.target || e.detail.elt;
    if (!target || !target.replaceChildren) return;
    // A poll (hx-trigger "every ...") simply asks again at its next turn.
    if (/^\s*every\b/.test((e.detail.elt && e.detail.elt.getAttribute("hx-trigger")) || "")) return;
    target.replaceChildren(alertFor(0, "The request did not reach the server.",
      "The connection broke: check it, then try again.", []));
  });
})();
