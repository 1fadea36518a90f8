"""The FFmpeg toolkit shared by the engine and media ingest: the binary and its base arguments
(``binary``), running it with progress, cancel and timeout (``runner``), and probing media with
PyAV (``probe``). It knows nothing of edits, renders or storage."""
