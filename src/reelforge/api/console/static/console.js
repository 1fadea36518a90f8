// The console's upload: files dropped or chosen are sent one by one to /console/assets/upload
// with their progress shown; the grid reloads (htmx) once they are in.
(function () {
  "use strict";
  function setup() {
    var zone = document.getElementById("dropzone");
    if (!zone) return;
    var input = document.getElementById("upload-files");
    var list = document.getElementById("upload-list");
    var csrf = zone.dataset.csrf;

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
      chain.then(function () {
        if (window.htmx) htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#grid", select: "#grid", swap: "outerHTML" });
      });
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
// cue being played is marked (aria-current) as the media plays.
(function () {
  "use strict";
  function review() {
    var player = document.getElementById("player");
    var list = document.getElementById("cues");
    if (!player || !list) return;
    var cues = Array.prototype.slice.call(list.querySelectorAll("li.cue"));
    list.addEventListener("click", function (e) {
      var button = e.target.closest("button.seek");
      if (!button) return;
      player.currentTime = parseFloat(button.dataset.start) + 0.001;
      var playing = player.play();
      if (playing && playing.catch) playing.catch(function () {});
    });
    player.addEventListener("timeupdate", function () {
      var t = player.currentTime;
      cues.forEach(function (cue) {
        var on = t >= parseFloat(cue.dataset.start) && t < parseFloat(cue.dataset.end);
        if (on) cue.setAttribute("aria-current", "true"); else cue.removeAttribute("aria-current");
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", review); else review();
})();
